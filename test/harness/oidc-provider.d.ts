// oidc-provider ships no type declarations; the test IdP uses it through its documented API.
declare module 'oidc-provider';
