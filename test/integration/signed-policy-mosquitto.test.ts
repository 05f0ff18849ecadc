import { signedPolicySuite } from './signed-policy.contract.ts';

signedPolicySuite('mosquitto');
