import pkg from '../package.json' with { type: 'json' };

/** The running build's version, reported in every status message. */
export const HOMEOSTAT_VERSION: string = pkg.version;
