/**
 * Lossless JSON for Neo4j property values, used by the logical export format.
 *
 * Plain JSON carries strings, booleans and numbers; a JSON integer is a Neo4j Integer and a JSON
 * number with a fraction is a Float. Everything JSON would blur gets a tagged object (property
 * values are never maps, so an object is always a tag): `{"$int":"…"}` for integers beyond
 * 2^53, `{"$float":"1"}` for integral or non-finite floats (`"-0"` for negative zero),
 * `{"$bytes":base64}`, and `{"$t":"DateTime"|…, …fields}` for temporal and spatial values (a
 * duration's months, days and seconds are integers, `$int` beyond 2^53 like any other).
 * @module
 */
import neo4j from 'neo4j-driver';

/** A JSON value as written to the export. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Encodes one property value read through the driver. */
export function encodeValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // String(-0) is "0": the sign would be lost.
    if (Object.is(value, -0)) return { $float: '-0' };
    return Number.isInteger(value) || !Number.isFinite(value) ? { $float: String(value) } : value;
  }
  if (typeof value === 'bigint') return { $int: value.toString() };
  if (neo4j.isInt(value))
    return value.inSafeRange() ? value.toNumber() : { $int: value.toString() };
  if (value instanceof Int8Array || value instanceof Uint8Array) {
    return {
      $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
    };
  }
  if (Array.isArray(value)) return value.map(encodeValue);
  const v = value as Record<string, unknown>;
  const n = (key: string): number => num(v[key]);
  if (neo4j.isDate(value)) return { $t: 'Date', y: n('year'), m: n('month'), d: n('day') };
  if (neo4j.isLocalTime(value)) return { $t: 'LocalTime', ...time(n) };
  if (neo4j.isTime(value)) return { $t: 'Time', ...time(n), tz: n('timeZoneOffsetSeconds') };
  if (neo4j.isLocalDateTime(value))
    return { $t: 'LocalDateTime', y: n('year'), m: n('month'), d: n('day'), ...time(n) };
  if (neo4j.isDateTime(value)) {
    return {
      $t: 'DateTime',
      y: n('year'),
      m: n('month'),
      d: n('day'),
      ...time(n),
      tz:
        v.timeZoneOffsetSeconds === undefined || v.timeZoneOffsetSeconds === null
          ? null
          : n('timeZoneOffsetSeconds'),
      zone: typeof v.timeZoneId === 'string' ? v.timeZoneId : null,
    };
  }
  if (neo4j.isDuration(value)) {
    // Seconds reach 2^63 (a duration spans up to ~292 billion years): not a number's range.
    const i = (key: string): JsonValue => encodeValue(neo4j.int(v[key] as number));
    return { $t: 'Duration', mo: i('months'), d: i('days'), s: i('seconds'), ns: n('nanoseconds') };
  }
  if (neo4j.isPoint(value)) {
    const z = v.z === undefined || v.z === null ? null : n('z');
    return { $t: 'Point', srid: n('srid'), x: n('x'), y: n('y'), z };
  }
  throw new TypeError(
    `cannot encode a property value of type ${Object.prototype.toString.call(value)}`,
  );
}

/** Decodes a value of the export into what the driver sends as the same Neo4j type. */
export function decodeValue(value: JsonValue): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? neo4j.int(value) : value;
  if (Array.isArray(value)) return value.map(decodeValue);
  const t = value as Record<string, JsonValue>;
  if (typeof t.$int === 'string') return neo4j.int(t.$int);
  if (typeof t.$float === 'string') return Number(t.$float);
  // The driver sends an Int8Array as a byte array; a Buffer (a Uint8Array) it sends as a list
  // of numbers, which the server stores as LIST<FLOAT>. Each byte is cast (255 becomes -1).
  if (typeof t.$bytes === 'string') return new Int8Array(Buffer.from(t.$bytes, 'base64'));
  const g = (key: string): number => Number(t[key]);
  // An integer of the export: a JSON integer or `$int`, as decodeValue reads them.
  const int = (key: string) => neo4j.int(decodeValue(t[key] ?? 0) as ReturnType<typeof neo4j.int>);
  const types = neo4j.types;
  switch (t.$t) {
    case 'Date':
      return new types.Date(g('y'), g('m'), g('d'));
    case 'LocalTime':
      return new types.LocalTime(g('h'), g('mi'), g('s'), g('ns'));
    case 'Time':
      return new types.Time(g('h'), g('mi'), g('s'), g('ns'), g('tz'));
    case 'LocalDateTime':
      return new types.LocalDateTime(g('y'), g('m'), g('d'), g('h'), g('mi'), g('s'), g('ns'));
    case 'DateTime':
      return new types.DateTime(
        g('y'),
        g('m'),
        g('d'),
        g('h'),
        g('mi'),
        g('s'),
        g('ns'),
        t.tz === null ? undefined : g('tz'),
        typeof t.zone === 'string' ? t.zone : undefined,
      );
    case 'Duration':
      return new types.Duration(int('mo'), int('d'), int('s'), int('ns'));
    case 'Point':
      return t.z === null
        ? new types.Point(g('srid'), g('x'), g('y'))
        : new types.Point(g('srid'), g('x'), g('y'), g('z'));
    default:
      throw new TypeError(`unknown tagged value in export: ${JSON.stringify(value).slice(0, 80)}`);
  }
}

// Property maps are built with Object.fromEntries: `out[key] = …` with the key `__proto__` (a
// valid property name) sets the object's prototype and drops the property.

/** Encodes a property map. */
export function encodeProps(props: Record<string, unknown>): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, encodeValue(v)]));
}

/** Decodes a property map. */
export function decodeProps(props: Record<string, JsonValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, decodeValue(v)]));
}

// --- internal ---

function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (neo4j.isInt(value)) return value.toNumber();
  return Number(value);
}

function time(n: (key: string) => number): { h: number; mi: number; s: number; ns: number } {
  return { h: n('hour'), mi: n('minute'), s: n('second'), ns: n('nanosecond') };
}
