import { badInputSuite } from './bad-input.contract.ts';

badInputSuite('mosquitto');
