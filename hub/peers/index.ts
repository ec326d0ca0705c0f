export { postToPeer, PeerTimeoutError, type PeerAnswer, type PeerPost } from './post.js';
