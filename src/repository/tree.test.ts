import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { IntegrityError } from '../errors.ts';
import { decodeTree, encodeTree, type TreeNode } from './tree.ts';

// The schema trees were first written with (zod). The hand-written checks must accept, reject
// and encode exactly as it did, or tree ids (and deduplication) would change.
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
/** A name that is one path segment (checked since trees could name `../x`). */
const isFileName = (name: string): boolean =>
  name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
const ReferenceNode = z
  .object({
    name: z.string().min(1).refine(isFileName),
    type: z.enum(['file', 'dir', 'symlink']),
    mode: z.number().int().nonnegative(),
    mtime: z.string().regex(/^-?\d+$/),
    // Owner and group, both or neither (added later, as ctime was).
    uid: z.number().int().nonnegative().optional(),
    gid: z.number().int().nonnegative().optional(),
    size: z.number().int().nonnegative().optional(),
    inode: z.string().optional(),
    ctime: z
      .string()
      .regex(/^-?\d+$/)
      .optional(),
    // A file's link count, when it has more than one (added later, as ctime was).
    links: z.number().int().nonnegative().optional(),
    // A file that had holes (added later, as links were).
    sparse: z.literal(true).optional(),
    content: z.array(hex64).optional(),
    sha256: hex64.optional(),
    changedWhileReading: z.literal(true).optional(),
    subtree: hex64.optional(),
    linkTarget: z.string().optional(),
  })
  .refine((n) => (n.uid === undefined) === (n.gid === undefined));
const ReferenceTree = z.object({
  nodes: z
    .array(ReferenceNode)
    .refine((nodes) => new Set(nodes.map((n) => n.name)).size === nodes.length),
});
const referenceEncode = (nodes: readonly TreeNode[]): Buffer =>
  Buffer.from(
    JSON.stringify({
      nodes: [...nodes]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((n) => ReferenceNode.parse(n)),
    }),
  );

const id = fc.stringMatching(/^[0-9a-f]{64}$/);
const node: fc.Arbitrary<TreeNode> = fc
  .record(
    {
      name: fc.string({ minLength: 1 }).filter(isFileName),
      type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
      mode: fc.nat(0o7777),
      mtime: fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n }).map(String),
      uid: fc.nat(),
      gid: fc.nat(),
      size: fc.nat(),
      inode: fc.string(),
      ctime: fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n }).map(String),
      links: fc.nat(),
      sparse: fc.constant(true as const),
      content: fc.array(id, { maxLength: 3 }),
      sha256: id,
      changedWhileReading: fc.constant(true as const),
      subtree: id,
      linkTarget: fc.string(),
    },
    { requiredKeys: ['name', 'type', 'mode', 'mtime'] },
  )
  .map((n) => {
    // Owners come in pairs: one alone is a damaged node (see below).
    if ((n.uid === undefined) === (n.gid === undefined)) return n;
    const { uid: _uid, gid: _gid, ...rest } = n;
    return rest;
  });
/** Nodes with one field possibly replaced by something of the wrong shape, or an extra key. */
const damaged = fc
  .tuple(
    node,
    fc.constantFrom(
      'name',
      'type',
      'mode',
      'mtime',
      'uid',
      'gid',
      'size',
      'inode',
      'ctime',
      'links',
      'sparse',
      'content',
      'sha256',
      'changedWhileReading',
      'subtree',
      'linkTarget',
      'extra',
    ),
    fc.oneof(
      fc.constant(null),
      fc.constant(''),
      fc.constant(-1),
      fc.constant(1.5),
      fc.constant(false),
      fc.constant('dir'),
      fc.constant('12'),
      fc.constant([]),
      fc.constant(['x']),
      fc.constant({}),
      id,
      fc.jsonValue(),
    ),
  )
  .map(([n, key, value]) => ({ ...n, [key]: value }));

describe('trees', () => {
  it('encode to the same bytes as the original schema did', () => {
    fc.assert(
      fc.property(fc.uniqueArray(node, { maxLength: 8, selector: (n) => n.name }), (nodes) => {
        assert.deepEqual(encodeTree(nodes), referenceEncode(nodes));
      }),
      { numRuns: 300 },
    );
  });

  it('decode what they encode, field for field', () => {
    fc.assert(
      fc.property(fc.uniqueArray(node, { maxLength: 8, selector: (n) => n.name }), (nodes) => {
        const bytes = encodeTree(nodes);
        assert.deepEqual(
          decodeTree(bytes, 'tree'),
          ReferenceTree.parse(JSON.parse(String(bytes))).nodes,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('accept and reject exactly what the original schema did, dropping unknown keys', () => {
    fc.assert(
      fc.property(fc.array(damaged, { maxLength: 3 }), (nodes) => {
        const bytes = Buffer.from(JSON.stringify({ nodes }));
        const reference = ReferenceTree.safeParse(JSON.parse(String(bytes)));
        if (reference.success) assert.deepEqual(decodeTree(bytes, 'tree'), reference.data.nodes);
        else assert.throws(() => decodeTree(bytes, 'tree'), IntegrityError);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuse names that are not one path segment, and a name twice', () => {
    const file = { type: 'file', mode: 0o644, mtime: '0' };
    for (const names of [['..'], ['.'], ['../x'], ['a/b'], ['a\0b'], ['x', 'x']]) {
      const bytes = Buffer.from(
        JSON.stringify({ nodes: names.map((name) => ({ name, ...file })) }),
      );
      assert.throws(() => decodeTree(bytes, 'tree x'), IntegrityError, names.join());
    }
    const fine = Buffer.from(
      JSON.stringify({
        nodes: [
          { name: '..x', ...file },
          { name: 'a\\b', ...file },
        ],
      }),
    );
    assert.deepEqual(
      decodeTree(fine, 'tree x').map((n) => n.name),
      ['..x', 'a\\b'],
    );
  });

  it('leave out every node of a name held twice when told, passing the name on once', () => {
    const file = { type: 'file', mode: 0o644, mtime: '0' };
    const names = ['a', 'x', 'x', 'x', 'z'];
    const bytes = Buffer.from(
      JSON.stringify({ nodes: names.map((name, i) => ({ name, ...file, size: i })) }),
    );
    const twice: string[] = [];
    assert.deepEqual(
      decodeTree(bytes, 'tree x', (name) => twice.push(name)).map((n) => n.name),
      ['a', 'z'],
    );
    assert.deepEqual(twice, ['x']);
  });

  it("keep a file's link count after its ctime, and encode a file without one as before", () => {
    const file: TreeNode = {
      name: 'model.bin',
      type: 'file',
      mode: 0o644,
      mtime: '1',
      size: 3,
      inode: '5:7',
      ctime: '2',
      content: [],
    };
    assert.equal(
      String(encodeTree([file])),
      '{"nodes":[{"name":"model.bin","type":"file","mode":420,"mtime":"1","size":3,"inode":"5:7","ctime":"2","content":[]}]}',
    );
    const linked = encodeTree([{ ...file, links: 2 }]);
    assert.equal(
      String(linked),
      '{"nodes":[{"name":"model.bin","type":"file","mode":420,"mtime":"1","size":3,"inode":"5:7","ctime":"2","links":2,"content":[]}]}',
    );
    assert.deepEqual(decodeTree(linked, 'tree'), [{ ...file, links: 2 }]);
  });

  it("keep a sparse file's mark after its link count", () => {
    const file: TreeNode = { name: 'disk.img', type: 'file', mode: 0o644, mtime: '1', size: 9 };
    const sparse = encodeTree([{ ...file, links: 2, sparse: true }]);
    assert.equal(
      String(sparse),
      '{"nodes":[{"name":"disk.img","type":"file","mode":420,"mtime":"1","size":9,"links":2,"sparse":true}]}',
    );
    assert.deepEqual(decodeTree(sparse, 'tree'), [{ ...file, links: 2, sparse: true }]);
  });

  it('refuse blobs that are not a tree', () => {
    for (const text of ['', 'nope', '[]', 'null', '{}', '{"nodes":{}}', '{"nodes":[1]}']) {
      assert.throws(() => decodeTree(Buffer.from(text), 'tree x'), IntegrityError, text);
    }
  });
});
