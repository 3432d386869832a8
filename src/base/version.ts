// dmsim's version, printed by `dmsim --version` and answered by a daemon's `version` verb. It is package.json's
// "version" (a test holds the two equal); a constant, so no verb reads a file to know it.

export const DMSIM_VERSION = '0.1.0';
