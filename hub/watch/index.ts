export * from './watch-feed.js';
