/** `url` with its password, if it has one, replaced by `***`: what logs and messages may show. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.password === '') return url;
  u.password = '***';
  return u.toString().replace(/\/$/, '');
}
