// oidc-provider ships no type declarations; the dev authorization server types what it uses itself.
declare module 'oidc-provider';
