// One audit record: a JSON object in the shape of an AWS CloudTrail event for KMS, so the tools
// that read CloudTrail (jq recipes, Athena tables, SIEM parsers) read these too.
//
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
// Requests and responses are logged through redact.ts (no plaintexts, no blobs: lengths only).

import { KmsError } from '../errors.js';
import { parseGrantToken } from '../keys/grants.js';
import { operations, type OperationName } from '../model/service-model.js';
import type { AdditionalEventData, Caller } from '../operations/operation.js';
import { fingerprintJson, jsonString as str, loggableJson, sameFingerprint, scalarFingerprint } from './redact.js';
import { uuid } from '../uuid.js';

export const EVENT_VERSION = '1.11';

// A bounded cache: cleared when full (the keys are callers, operations and key ARNs, of which a
// process has few; the bound only stops a stream of distinct ones from growing it).
function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    if (map.size >= 10_000) map.clear();
    map.set(key, v);
  }
  return v;
}

/**
 * Operations that change nothing: CloudTrail marks them readOnly. Everything else is a key
 * management event, written and fsync'd before its call returns; read-only events (the
 * cryptographic operations among them) may wait up to a second in the buffer.
 */
const READ_ONLY = /^(Describe|Get|List|Encrypt$|Decrypt$|ReEncrypt$|Sign$|Verify$|VerifyMac$|GenerateMac$|GenerateRandom$|GenerateDataKey|DeriveSharedSecret$)/;

const readOnlyByName = new Map<string, boolean>();
export function isReadOnly(operation: string): boolean {
  return cached(readOnlyByName, operation, () => READ_ONLY.test(operation));
}

export interface AuditIdentity {
  region: string;
  accountId: string;
  /** Of the store's ARNs (store/identity.ts). */
  partition: string;
  /** `embedded-kms/<version>`, for library calls. */
  userAgent: string;
}

export interface CloudTrailEvent {
  eventVersion: string;
  /** Service events (AwsServiceEvent) have the account and `invokedBy: 'AWS Internal'` only. */
  userIdentity: {
    type?: 'AWSAccount' | 'IAMUser';
    principalId?: string;
    accountId: string;
    accessKeyId?: string;
    invokedBy?: string;
  };
  eventTime: string;
  eventSource: 'kms.amazonaws.com';
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  errorCode?: string;
  errorMessage?: string;
  /** Not in service events. */
  requestID?: string;
  eventID: string;
  readOnly: boolean;
  resources?: { accountId: string; type: 'AWS::KMS::Key'; ARN: string }[];
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  managementEvent: true;
  recipientAccountId: string;
  /** Service events: what happened (RotateKey: rotationType, keyOrigin, the key materials). */
  serviceEventDetails?: Record<string, unknown>;
  eventCategory: 'Management';
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:[^:]*:(\d{12}):key\/(.+)$/;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export interface CallRecord {
  operation: OperationName | string;
  input: unknown;
  output?: unknown;
  error?: unknown;
  caller: Caller;
  time: Date;
  /** The event's id, when the caller made it (GetKeyLastUsage reports it); else a new one. */
  eventId?: string | undefined;
  /** A successful call's additionalEventData, as its operation noted it. */
  additionalEventData?: AdditionalEventData | undefined;
  /** The key a successful call acted on when neither its request nor its response names it. */
  actedOnKeyId?: string | undefined;
}

const q = JSON.stringify;

// eventTime has a resolution of seconds: the string is made once per second.
let lastSecond = Number.NaN;
let lastIso = '';
function isoSeconds(second: number): string {
  if (second !== lastSecond) {
    lastIso = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'); // throws for an invalid clock
    lastSecond = second;
  }
  return lastIso;
}

/**
 * One audit line in pieces, in order: byte runs that are the same for many calls (encoded once
 * and copied), and strings (encoded as the line is appended). The log copies them into its
 * buffer directly; on the hot path of Sign and Encrypt, building one string of the whole line and
 * encoding it cost about three times more, most of it in the parts that never change.
 */
export type LinePiece = Uint8Array | string;

/**
 * What a line holds for one caller and operation whatever the call (identity, source, agent,
 * names), serialized once.
 */
interface Frame {
  /** The identity's caches, which hold this frame. */
  cache: IdentityCache;
  /** Up to the eventTime value. */
  head: string;
  /** From after the eventTime value up to the requestParameters value. */
  middle: string;
  /** head, eventTime, middle, as bytes, for the second `second`. */
  prefix: Uint8Array;
  second: number;
  /** From after the eventID value: `"readOnly"` and the constant fields after it (no closing brace). */
  tailText: string;
  /** tailText, the resources member and the closing brace, by the resources (closingOf). */
  closings: Map<string, Uint8Array>;
  readOnly: boolean;
  input: string | undefined;
  output: string | undefined;
  /** The last request of scalars and blobs logged with this frame (requestJson). */
  request: { fingerprint: unknown[]; json: Uint8Array } | undefined;
}

/**
 * The caches of one audit identity (one trail), bounded as a whole: callers (the endpoint's are
 * source address, access key and agent) times operations times keys would otherwise multiply.
 * Each kind is dropped entirely when full: the entries are rebuilt at the next call.
 */
interface IdentityCache {
  framesByCaller: Map<string, Map<string, Frame>>;
  frames: number;
  closings: number;
  /** The key ARN a KeyId-like value names, or null (arnOf). */
  arns: Map<string, string | null>;
}

const MAX_FRAMES = 10_000;
const MAX_CLOSINGS = 10_000;
const caches = new WeakMap<AuditIdentity, IdentityCache>();

function cacheOf(id: AuditIdentity): IdentityCache {
  let c = caches.get(id);
  if (!c) caches.set(id, (c = { framesByCaller: new Map(), frames: 0, closings: 0, arns: new Map() }));
  return c;
}

// Encoded into an ArrayBuffer of its own: a Buffer.from() of a short string is a slice of Node's
// shared pool, and a cached slice would keep its whole 8 KiB block alive.
const encoder = new TextEncoder();
const utf8 = (s: string): Uint8Array => encoder.encode(s);

function frameOf(id: AuditIdentity, operation: string, caller: Caller, agent: string | undefined): Frame {
  const c = cacheOf(id);
  // (undefined and '' differ for every optional part: '' is logged as given, undefined is not).
  // A caller with none of them (every library call) is keyed by its kind alone: no key to build.
  const part = (v: string | undefined) => (v === undefined ? '-' : `=${v}`);
  const callerKey =
    caller.accessKeyId === undefined && caller.sourceAddress === undefined && agent === undefined
      ? caller.kind
      : `${caller.kind}\0${part(caller.accessKeyId)}\0${part(caller.sourceAddress)}\0${part(agent)}`;
  let byOperation = c.framesByCaller.get(callerKey);
  const found = byOperation?.get(operation);
  if (found) return found;
  if (c.frames >= MAX_FRAMES) {
    c.framesByCaller.clear();
    c.frames = 0;
    c.closings = 0; // the closings went with their frames
    byOperation = undefined;
  }
  if (!byOperation) c.framesByCaller.set(callerKey, (byOperation = new Map()));
  const op = Object.hasOwn(operations, operation) ? operations[operation as OperationName] : undefined;
  const identity: CloudTrailEvent['userIdentity'] =
    caller.accessKeyId !== undefined
      ? { type: 'IAMUser', principalId: caller.accessKeyId, accountId: id.accountId, accessKeyId: caller.accessKeyId }
      : { type: 'AWSAccount', principalId: id.accountId, accountId: id.accountId };
  if (caller.kind !== 'endpoint') identity.invokedBy = caller.kind === 'cli' ? 'ekms-cli' : 'embedded-kms';
  const readOnly = isReadOnly(operation);
  const frame: Frame = {
    cache: c,
    head: `{"eventVersion":"${EVENT_VERSION}","userIdentity":${q(identity)},"eventTime":"`,
    middle:
      `","eventSource":"kms.amazonaws.com","eventName":${str(operation)},"awsRegion":${str(id.region)},` +
      `"sourceIPAddress":${str(caller.sourceAddress ?? (caller.kind === 'cli' ? 'ekms-cli' : 'embedded-kms'))},` +
      `"userAgent":${str(agent ?? id.userAgent)},"requestParameters":`,
    prefix: new Uint8Array(0),
    second: Number.NaN,
    tailText:
      `","readOnly":${readOnly},"eventType":"AwsApiCall","managementEvent":true,` +
      `"recipientAccountId":${str(id.accountId)},"eventCategory":"Management"`,
    closings: new Map(),
    readOnly,
    // RetireGrant's request is not logged at all, its token even less (ct-retire-grant).
    input: operation === 'RetireGrant' ? undefined : op?.input,
    output: op?.output,
    request: undefined,
  };
  byOperation.set(operation, frame);
  c.frames += 1;
  return frame;
}

function prefixOf(frame: Frame, time: Date): Uint8Array {
  const second = Math.floor(time.getTime() / 1000);
  if (second !== frame.second) {
    frame.prefix = utf8(frame.head + isoSeconds(second) + frame.middle);
    frame.second = second;
  }
  return frame.prefix;
}

// The key ARN a KeyId-like member names (as given, or made from a key id), or null for an alias
// or anything else that is not a key. The response's KeyId is the same string for every call
// with one key, so the regular expressions run once per key.
function arnOf(id: AuditIdentity, v: string): string | null {
  const make = () => (KEY_ARN.test(v) ? v : KEY_ID.test(v) ? `arn:${id.partition}:kms:${id.region}:${id.accountId}:key/${v}` : null);
  if (v.length > 256) return make(); // no key ARN is that long: not worth a cache entry
  return cached(cacheOf(id).arns, v, make);
}

/**
 * The key ARNs a request and its response name, the source key first (ReEncrypt's resources are
 * "the source KMS key and the destination KMS key, in that order": ct-reencrypt); else the key
 * the operation noted it acted on.
 */
function keyArns(id: AuditIdentity, input: unknown, output: unknown, actedOnKeyId?: string): string[] {
  const arns = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v !== 'string') return;
    const arn = arnOf(id, v);
    if (arn !== null) arns.add(arn);
  };
  const o = (output ?? {}) as Record<string, unknown>;
  // A response names the key that was used (as an ARN) after aliases were resolved.
  add(o.SourceKeyId);
  add(o.KeyId);
  add((o.KeyMetadata as Record<string, unknown> | undefined)?.Arn);
  if (arns.size === 0 && typeof input === 'object' && input !== null) {
    const i = input as Record<string, unknown>;
    for (const m of ['KeyId', 'TargetKeyId', 'SourceKeyId', 'DestinationKeyId']) add(i[m]);
    // RetireGrant by token alone: the token names the key.
    if (arns.size === 0) add(grantTokenNames(i.GrantToken)?.keyId);
  }
  if (arns.size === 0) add(actedOnKeyId);
  return [...arns];
}

/**
 * The resources of a successful call: its keys, and for the alias operations the alias too, in
 * the order of AWS's entries (ct-createalias: key, alias; ct-updatealias and ct-deletealias:
 * alias, key).
 */
function resourceArns(id: AuditIdentity, call: CallRecord): string[] {
  const keys = keyArns(id, call.input, call.output, call.actedOnKeyId);
  const aliasName = ALIAS_OPERATIONS.has(String(call.operation)) ? (call.input as { AliasName?: unknown } | undefined)?.AliasName : undefined;
  if (typeof aliasName !== 'string') return keys;
  const alias = `arn:${id.partition}:kms:${id.region}:${id.accountId}:${aliasName}`;
  return call.operation === 'CreateAlias' ? [...keys, alias] : [alias, ...keys];
}

const ALIAS_OPERATIONS = new Set(['CreateAlias', 'UpdateAlias', 'DeleteAlias']);

/** Calls whose entries list their resources even when there are none (ct-listaliases, ct-generaterandom: `"resources": []`). */
const EMPTY_RESOURCES_LISTED = new Set(['ListAliases', 'GenerateRandom']);

/** The resources member, with its leading comma, or '' when it is left out. */
function resourcesMember(id: AuditIdentity, operation: string, arns: string[]): string {
  if (arns.length > 0) return `,"resources":${resourcesOf(id, arns)}`;
  return EMPTY_RESOURCES_LISTED.has(operation) ? ',"resources":[]' : '';
}

/** The key and grant a GrantToken member names (RetireGrant), if it is one in CreateGrant's form. */
function grantTokenNames(token: unknown): { keyId: string; grantId: string } | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    return parseGrantToken(token);
  } catch {
    return undefined;
  }
}

/** additionalEventData's members, in the order AWS's entries show them (ct-reencrypt, ct-connect-keystore). */
const ADDITIONAL_MEMBERS = ['keyMaterialId', 'destinationKeyMaterialId', 'sourceKeyMaterialId', 'customKeyStoreName'] as const;

/**
 * CloudTrail's additionalEventData: for a RetireGrant by token, whose request it does not log,
 * the id of the grant the token names (KMS developer guide, ct-retire-grant); for a successful
 * call, what its operation noted: the key material a call with a symmetric encryption key used
 * (ct-encrypt, ct-decrypt, ct-generatedatakey..., ct-reencrypt), the custom key store a
 * connection acted on (ct-connect-keystore).
 */
function additionalEventData(call: CallRecord): string {
  if (call.operation === 'RetireGrant') {
    const named = grantTokenNames((call.input as { GrantToken?: unknown } | undefined)?.GrantToken);
    return named === undefined ? '' : `"additionalEventData":{"grantId":${str(named.grantId)}},`;
  }
  const noted = call.additionalEventData;
  if (noted === undefined || call.error !== undefined) return '';
  let members = '';
  for (const name of ADDITIONAL_MEMBERS) {
    const value = noted[name];
    if (value !== undefined) members += `${members === '' ? '' : ','}"${name}":${str(value)}`;
  }
  return members === '' ? '' : `"additionalEventData":{${members}},`;
}

// A list of ARNs as a cache key, unambiguous whatever the ARNs hold (a value may contain any
// character, NUL included). A single ARN is its own key: it starts with "arn:", never "[".
const listKey = (arns: string[]): string => JSON.stringify(arns);

// The resources member for a list of key ARNs, by the list.
const resourceJson = new Map<string, string>();
function resourcesOf(id: AuditIdentity, arns: string[]): string {
  return cached(resourceJson, `${id.accountId}:${listKey(arns)}`, () =>
    q(arns.map((ARN) => ({ accountId: KEY_ARN.exec(ARN)?.[1] ?? id.accountId, type: 'AWS::KMS::Key', ARN }))),
  );
}

/**
 * The end of a successful call's line: the constant fields, the resources member and the closing
 * brace, as bytes, by the resources. The common response (one KeyId, nothing else naming a key)
 * is looked up by that KeyId's ARN without building a list.
 */
function closingOf(id: AuditIdentity, frame: Frame, call: CallRecord): Uint8Array {
  const o = call.output as Record<string, unknown> | undefined;
  const only = o !== undefined && o !== null && typeof o.KeyId === 'string' && o.SourceKeyId === undefined && o.KeyMetadata === undefined ? o.KeyId : undefined;
  let arns: string[] | undefined;
  let key = only === undefined ? null : arnOf(id, only);
  if (key === null) {
    arns = resourceArns(id, call);
    key = arns.length === 1 ? arns[0]! : listKey(arns);
  }
  const found = frame.closings.get(key);
  if (found) return found;
  const c = frame.cache;
  if (c.closings >= MAX_CLOSINGS) {
    for (const byOperation of c.framesByCaller.values()) for (const f of byOperation.values()) f.closings.clear();
    c.closings = 0;
  }
  const list = arns ?? [key];
  const closing = utf8(`${frame.tailText}${resourcesMember(id, String(call.operation), list)}}`);
  frame.closings.set(key, closing);
  c.closings += 1;
  return closing;
}

// A validation message quotes the values it refuses, as AWS's do; grant tokens are not logged
// (redact.ts), so the trail's copy of such a message leaves their value out.
// The quoted value runs to the first "' at '" (a token may hold quotes of its own). A token that
// holds "' at '" itself would end the match early, leaving the tokens after it: in a request with
// such a token, every token of the request is masked wherever it still stands (in others, a short
// token masked everywhere would only garble the text).
// RetireGrant's GrantToken (one token, perhaps given in a list by mistake) is masked the same way.
// A list's element is quoted at `grantTokens.N.member` (a value of the wrong type given for one:
// the CreateGrant result where its token belongs, quoted with the token in it).
const QUOTED_GRANT_TOKENS = /Value '(?:(?!' at ')[\s\S])*' at '((?:[\w.]+\.)?grantTokens?(?:\.\d+)?(?:\.member)?)'/g;
function withoutGrantTokens(message: string, input: unknown): string {
  if (!message.includes('grantToken')) return message;
  let out = message.replace(QUOTED_GRANT_TOKENS, "Value at '$1'");
  const given = input as { GrantTokens?: unknown; GrantToken?: unknown } | null | undefined;
  const tokens = [given?.GrantTokens, given?.GrantToken].flat();
  if (tokens.some((token) => typeof token === 'string' && token.includes("' at '")))
    for (const token of tokens) if (typeof token === 'string' && token !== '') out = out.split(token).join('***');
  return out;
}

/**
 * The requestParameters value of a successful call. A caller repeating one request (a loop of
 * Sign with one key, algorithm and digest length) logs the same text each time: it is kept, as
 * bytes, for as long as the requests' fingerprints (redact.ts) stay the same, and a request that
 * differs in any logged value is logged afresh.
 */
function requestJson(frame: Frame, input: unknown): LinePiece {
  const shape = frame.input;
  if (shape === undefined) return 'null';
  const last = frame.request;
  if (last !== undefined && sameFingerprint(shape, input, last.fingerprint)) return last.json;
  const fingerprint = scalarFingerprint(shape, input);
  if (fingerprint === undefined) {
    frame.request = undefined;
    return loggableJson(shape, input);
  }
  const json = fingerprintJson(shape, fingerprint);
  frame.request = { fingerprint, json: utf8(json) };
  return json;
}

/**
 * A successful management call's responseElements. As CloudTrail has written them since December
 * 2022, one whose response names no key (EnableKey, TagResource, CreateGrant...) gets the ARN of
 * the key it acted on as `keyId`.
 */
function responseElements(id: AuditIdentity, frame: Frame, call: CallRecord): string {
  if (NULL_RESPONSE_ELEMENTS.has(String(call.operation))) return 'null';
  // CreateGrant's token is left out altogether, as CloudTrail does (ct-creategrant).
  const output = call.operation === 'CreateGrant' ? withoutGrantToken(call.output) : call.output;
  const json = loggableJson(frame.output, output);
  const out = call.output as Record<string, unknown> | undefined;
  if (out !== null && typeof out === 'object' && (out.KeyId !== undefined || out.KeyMetadata !== undefined)) return json;
  const arns = keyArns(id, call.input, call.output, call.actedOnKeyId);
  if (arns.length !== 1) return json;
  const keyId = `"keyId":${str(arns[0]!)}`;
  return json === 'null' || json === '{}' ? `{${keyId}}` : `${json.slice(0, -1)},${keyId}}`;
}

/** Management calls whose entries have no responseElements (ct-connect-keystore, ct-disconnect-keystore). */
const NULL_RESPONSE_ELEMENTS = new Set(['ConnectCustomKeyStore', 'DisconnectCustomKeyStore']);

function withoutGrantToken(output: unknown): unknown {
  if (typeof output !== 'object' || output === null) return output;
  const { GrantToken: _token, ...rest } = output as Record<string, unknown>;
  return rest;
}

/**
 * The request as CloudTrail logs it: a Decrypt event "always includes the encryptionAlgorithm
 * in the requestParameters even if the encryption algorithm wasn't specified in the request"
 * (KMS developer guide, ct-decrypt); left out, it is the model's default, SYMMETRIC_DEFAULT
 * (asymmetric ciphertexts need the algorithm named).
 */
function decryptAsLogged(input: unknown): unknown {
  return withDefaults(input, ['EncryptionAlgorithm']);
}

/** ReEncrypt's entries name both algorithms the same way (ct-reencrypt). */
function reEncryptAsLogged(input: unknown): unknown {
  return withDefaults(input, ['SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm']);
}

/** The request with SYMMETRIC_DEFAULT for each of `members` it leaves out. */
function withDefaults(input: unknown, members: readonly string[]): unknown {
  if (typeof input !== 'object' || input === null) return input;
  const given = input as Record<string, unknown>;
  if (members.every((m) => given[m] !== undefined)) return input;
  const out: Record<string, unknown> = { ...given };
  for (const m of members) out[m] ??= 'SYMMETRIC_DEFAULT';
  return out;
}

function asLogged(call: CallRecord): CallRecord {
  if (call.operation === 'Decrypt') return { ...call, input: decryptAsLogged(call.input) };
  if (call.operation === 'ReEncrypt') return { ...call, input: reEncryptAsLogged(call.input) };
  return call;
}

/**
 * The audit line of one call, in pieces (see LinePiece): a CloudTrail event as JSON, written
 * directly (this runs for every operation, on the hot path of Sign and Encrypt).
 */
export function eventPieces(id: AuditIdentity, given: CallRecord): LinePiece[] {
  const call = asLogged(given);
  const { caller } = call;
  const userAgent: unknown = caller.userAgent;
  const agent = typeof userAgent === 'string' ? userAgent.slice(0, 512) : undefined;
  const frame = frameOf(id, String(call.operation), caller, agent);
  const failed = call.error !== undefined;
  const prefix = prefixOf(frame, call.time);
  // As AWS logs them: read-only calls (every cryptographic operation among them) and failed
  // calls have no responseElements; the key they used is in resources.
  const ids =
    `,"responseElements":${failed || frame.readOnly ? 'null' : responseElements(id, frame, call)},` +
    additionalEventData(call) +
    `"requestID":${str(String(caller.requestId))},"eventID":"${call.eventId === undefined ? uuid() : str(call.eventId).slice(1, -1)}`;
  if (!failed) return [prefix, requestJson(frame, call.input), ids, closingOf(id, frame, call)];
  const middle = loggableJson(frame.input, call.input) + ids;
  // Only AWS errors' own messages (AWS's wording, written never to hold secrets); anything
  // else is summarised by its AWS type.
  const [code, message] = call.error instanceof KmsError ? [call.error.name, withoutGrantTokens(call.error.message, call.input)] : ['KMSInternalException', 'Internal error'];
  const arns = keyArns(id, call.input, undefined);
  return [prefix, middle + frame.tailText + `,"errorCode":${q(code)},"errorMessage":${q(message)}` + resourcesMember(id, String(call.operation), arns) + '}'];
}

const decoder = new TextDecoder();

/** The audit line of one call as one string (eventPieces, joined). */
export function eventLine(id: AuditIdentity, call: CallRecord): string {
  let line = '';
  for (const piece of eventPieces(id, call)) line += typeof piece === 'string' ? piece : decoder.decode(piece);
  return line;
}

/** The event of one call as an object (eventLine, parsed). */
export function cloudTrailEvent(id: AuditIdentity, call: CallRecord): CloudTrailEvent {
  return JSON.parse(eventLine(id, call)) as CloudTrailEvent;
}

/**
 * An action the key store took by itself (CloudTrail's AwsServiceEvent): a scheduled deletion
 * (DeleteKey), an automatic rotation (RotateKey), expired imported material
 * (DeleteExpiredKeyMaterial). Always a key management event. Shaped as KMS's documented service
 * events: made by "AWS Internal", no request id, what happened in `serviceEventDetails`.
 */
export function serviceEvent(id: AuditIdentity, name: string, keyArn: string, time: Date, details: Record<string, unknown> = {}): CloudTrailEvent {
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { accountId: id.accountId, invokedBy: 'AWS Internal' },
    eventTime: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'kms.amazonaws.com',
    eventName: name,
    awsRegion: id.region,
    sourceIPAddress: 'AWS Internal',
    userAgent: 'AWS Internal',
    requestParameters: null,
    responseElements: null,
    eventID: uuid(),
    readOnly: false,
    resources: [{ accountId: KEY_ARN.exec(keyArn)?.[1] ?? id.accountId, type: 'AWS::KMS::Key', ARN: keyArn }],
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: id.accountId,
    ...(Object.keys(details).length ? { serviceEventDetails: details } : {}),
    eventCategory: 'Management',
  } as CloudTrailEvent;
}
