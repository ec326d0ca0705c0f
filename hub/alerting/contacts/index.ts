// On-call contacts (mail, mobile) from the directory, cached in the background for paging.
export { ContactCache, type CachedContacts, type ContactLookup } from './contact-cache.js';
