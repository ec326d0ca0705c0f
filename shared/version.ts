/** The release of this build; agents report it in their hello. */
export const VERSION = '0.1.0';
