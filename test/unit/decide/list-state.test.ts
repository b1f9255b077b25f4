// Runtime list changes in STATE_DIR/lists.json: what a restart gets back, and what it does with a file it
// cannot use (never fatal: the lists start from their files and the policy set).

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ListStateFile } from '../../../src/decide/list-state.js';
import type { ListDefinition } from '../../../src/lib/lists/list-definitions.js';
import { BLOCK_EFFECT } from '../../../src/lib/lists/list-index.js';
import { ListStore } from '../../../src/lib/lists/list-store.js';
import { createLogger } from '../../../src/observe/logger.js';

function lists(): ListDefinition[] {
  const base = {
    action: 'block' as const,
    class: undefined,
    file: undefined,
    effect: BLOCK_EFFECT,
    inline: [],
  };
  return [
    { ...base, name: 'ips', kind: 'ip', fileEntries: ['192.0.2.0/24'] },
    { ...base, name: 'keys', kind: 'api_key', fileEntries: [] },
  ];
}

function logged(): { log: ReturnType<typeof createLogger>; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { log: createLogger('info', 'text', stream), text: () => text };
}

describe('ListStateFile', () => {
  it('gives a restarted store the runtime additions and removals it had', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'list-state-')), 'state', 'lists.json');
    const before = new ListStore(lists());
    before.add('ips', ['198.51.100.7']);
    before.remove('ips', ['192.0.2.0/24']);
    before.add('keys', ['leaked']);
    const { log } = logged();
    await new ListStateFile(path, before, log).save();
    expect((readFileSync(path, 'utf8').match(/"name"/g) ?? []).length).toBe(2);

    const after = new ListStore(lists());
    expect(await new ListStateFile(path, after, log).restore()).toBe(2);
    expect(after.entries('ips')).toEqual(['198.51.100.7']);
    expect(after.entries('keys')).toEqual(['leaked']);
    expect(after.index.effects({ ip: '192.0.2.1' })).toBe(0);
    expect(after.index.effects({ apiKey: 'leaked' })).toBe(BLOCK_EFFECT);
  });

  it('skips what it cannot use, with a warning: bad JSON, a list of another kind, a bad entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'list-state-'));
    const { log, text } = logged();
    const store = new ListStore(lists());
    writeFileSync(join(dir, 'bad.json'), '{"lists": [');
    expect(await new ListStateFile(join(dir, 'bad.json'), store, log).restore()).toBe(0);
    expect(text()).toContain('runtime list changes not restored');

    writeFileSync(
      join(dir, 'lists.json'),
      JSON.stringify({
        lists: [
          { name: 'ips', kind: 'tenant', added: ['t'], removed: [] },
          { name: 'keys', kind: 'api_key', added: ['has space'], removed: [] },
          { name: 'ips', kind: 'ip', added: ['203.0.113.9'], removed: [] },
        ],
      }),
    );
    expect(await new ListStateFile(join(dir, 'lists.json'), store, log).restore()).toBe(1);
    expect(text()).toContain('runtime changes of list ips not restored: the policy set has no tenant list');
    expect(text()).toContain('runtime changes of keys not restored: not a valid api_key entry');
    expect(store.index.effects({ ip: '203.0.113.9' })).toBe(BLOCK_EFFECT);
    expect(await new ListStateFile(join(dir, 'missing.json'), store, log).restore()).toBe(0);
  });

  it('rejects a save it could not write, and the next save still runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'list-state-'));
    chmodSync(dir, 0o500);
    const store = new ListStore(lists());
    const state = new ListStateFile(join(dir, 'lists.json'), store, logged().log);
    // Root may write anywhere: then the write succeeds and there is nothing to refuse.
    const failed = await state.save().then(
      () => false,
      () => true,
    );
    chmodSync(dir, 0o700);
    expect(failed).toBe(process.getuid?.() !== 0);
    await state.save();
    expect(JSON.parse(readFileSync(join(dir, 'lists.json'), 'utf8'))).toEqual({ lists: [] });
  });
});
