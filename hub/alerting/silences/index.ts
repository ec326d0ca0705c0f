// Silences and the label matchers they (and routes and inhibit rules) use.
export { formatMatcher, matches, matchesAll, parseMatcher, type Matcher } from './matchers.js';
export { Silences, type Silence, type SilenceChange } from './silences.js';
