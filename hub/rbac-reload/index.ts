// The rbac section reloaded on SIGHUP and on file change (issue 12).
export * from './rbac-reloader.js';
