/**
 * Docker's reference normalization (github.com/distribution/reference `ParseNormalizedNamed` +
 * `TagNameOnly`), which containerd's CRI applies to every image a pod names: `busybox` →
 * `docker.io/library/busybox:latest`, `kedge.local/app:1` unchanged. Names must be compared in
 * this form, or an imported `busybox:1.36` and a pod's `docker.io/library/busybox:1.36` would look
 * like different images.
 */
export function normalizeImageRef(ref: string): string {
  let name = ref.trim();
  let digest = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at);
    name = name.slice(0, at);
  }
  let tag = '';
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = name.slice(colon);
    name = name.slice(0, colon);
  }
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasDomain = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  if (!hasDomain) name = `docker.io/${slash < 0 ? `library/${name}` : name}`;
  else if (first === 'index.docker.io') name = `docker.io${name.slice(slash)}`;
  if (name.startsWith('docker.io/') && !name.slice('docker.io/'.length).includes('/')) name = `docker.io/library/${name.slice('docker.io/'.length)}`;
  if (tag === '' && digest === '') tag = ':latest';
  return `${name}${tag}${digest}`;
}
