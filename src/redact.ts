/**
 * Hides secrets in a text, so that connection strings can be logged and shown: the password of every URL
 * (`scheme://user:***@`) and every `password=` or `sslpassword=` query parameter (PostgreSQL URLs may carry one).
 */
const credentialsInUrl = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/?#\s]*)@/gi;
const passwordParameter = /([?&](?:ssl)?password=)[^&#\s]*/gi;

/** `text` with the password of every URL and every `password=` or `sslpassword=` parameter replaced by `***`. */
export function redact(text: string): string {
  return text.replace(credentialsInUrl, '$1***@').replace(passwordParameter, '$1***');
}
