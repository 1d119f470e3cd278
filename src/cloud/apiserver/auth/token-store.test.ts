 
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { hasCode } from '../../../errors/platform-error.ts';
import { tempDir } from '../../../pki/test-helpers.ts';
import { TokenStore, generateToken, readTokenFile, writeTokenFile } from './token-store.ts';

describe('TokenStore', () => {
  it('maps a token to its user, adding system:authenticated, and refuses near misses', () => {
    const token = generateToken();
    const store = new TokenStore([{ token, user: 'kedge-admin', uid: 'u-1', groups: ['system:masters'] }]);
    assert.deepEqual(store.lookup(token), { name: 'kedge-admin', uid: 'u-1', groups: ['system:masters', 'system:authenticated'] });
    assert.equal(store.lookup(token.slice(0, -1)), undefined);
    assert.equal(store.lookup(`${token}x`), undefined);
    assert.equal(store.lookup(''), undefined);
  });

  it('generates distinct 256-bit url-safe tokens', () => {
    const a = generateToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, generateToken());
  });
});

describe('token files', () => {
  it('round-trips with mode 0600, and a missing file is empty', async () => {
    await using dir = await tempDir();
    const path = `${dir.path}/tokens.json`;
    assert.deepEqual(await readTokenFile(path), []);
    const entries = [{ token: generateToken(), user: 'a', groups: ['g'] }];
    await writeTokenFile(path, entries);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readTokenFile(path), entries);
    const store = await TokenStore.load(path);
    assert.equal(store.lookup(entries[0]!.token)?.name, 'a');
  });

  it('refuses malformed files with CONFIG_INVALID', async () => {
    await using dir = await tempDir();
    for (const content of ['{', '[]', '{"tokens": [{"token": "short", "user": "a"}]}', '{"tokens": [{"token": "0123456789abcdefg", "user": ""}]}', '{"tokens": [{"token": "0123456789abcdefg", "user": "a", "groups": "g"}]}']) {
      const path = `${dir.path}/bad.json`;
      await writeFile(path, content);
      await assert.rejects(readTokenFile(path), (e) => hasCode(e, 'CONFIG_INVALID'), content);
    }
  });
});
