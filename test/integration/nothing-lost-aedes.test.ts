import { nothingLostSuite } from './nothing-lost.contract.ts';

nothingLostSuite('aedes');
