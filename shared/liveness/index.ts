export { SilenceWatch } from './silence-watch.js';
