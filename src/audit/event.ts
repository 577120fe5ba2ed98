// One audit record: a JSON object in the shape of an AWS CloudTrail event for KMS, so the tools
// that read CloudTrail (jq recipes, Athena tables, SIEM parsers) read these too.
//
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
// Requests and responses are logged through redact.ts (no plaintexts, no blobs: lengths only).
import { randomUUID } from 'node:crypto';

import { KmsError } from '../errors.js';
import { operations, type OperationName } from '../model/service-model.js';
import type { Caller } from '../operations/operation.js';
import { jsonString as str, loggableJson } from './redact.js';

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
  /** `embedded-kms/<version>`, for library calls. */
  userAgent: string;
}

export interface CloudTrailEvent {
  eventVersion: string;
  userIdentity: {
    type: 'AWSAccount' | 'IAMUser' | 'AWSService';
    principalId: string;
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
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources?: { accountId: string; type: 'AWS::KMS::Key'; ARN: string }[];
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:[^:]*:(\d{12}):key\/(.+)$/;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The key ARNs a request and its response name (aliases are not keys: left out). */
function keyArns(id: AuditIdentity, input: unknown, output: unknown): string[] {
  const arns = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v !== 'string') return;
    if (KEY_ARN.test(v)) arns.add(v);
    else if (KEY_ID.test(v)) arns.add(`arn:aws:kms:${id.region}:${id.accountId}:key/${v}`);
  };
  const o = (output ?? {}) as Record<string, unknown>;
  // A response names the key that was used (as an ARN) after aliases were resolved.
  add(o.KeyId);
  add(o.SourceKeyId);
  add((o.KeyMetadata as Record<string, unknown> | undefined)?.Arn);
  if (arns.size === 0 && typeof input === 'object' && input !== null) {
    const i = input as Record<string, unknown>;
    for (const m of ['KeyId', 'TargetKeyId', 'SourceKeyId', 'DestinationKeyId']) add(i[m]);
  }
  return [...arns];
}

export interface CallRecord {
  operation: OperationName | string;
  input: unknown;
  output?: unknown;
  error?: unknown;
  caller: Caller;
  time: Date;
}

const q = JSON.stringify;

// eventTime has a resolution of seconds: the string is made once per second.
let lastSecond = Number.NaN;
let lastIso = '';
function isoSeconds(time: Date): string {
  const second = Math.floor(time.getTime() / 1000);
  if (second !== lastSecond) {
    lastIso = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'); // throws for an invalid clock
    lastSecond = second;
  }
  return lastIso;
}

/**
 * What a line holds for one caller and operation whatever the call (identity, source, agent,
 * names), serialized once: a line is then a few strings joined, where building each from its
 * fields cost several microseconds per operation (this runs for every Sign and Encrypt).
 */
interface Frame {
  /** Up to the eventTime value. */
  head: string;
  /** From after the eventTime value up to the requestParameters value. */
  middle: string;
  /** `"readOnly"` and the constant fields after it. */
  tail: string;
  readOnly: boolean;
  input: string | undefined;
  output: string | undefined;
}

const frames = new WeakMap<AuditIdentity, Map<string, Frame>>();

function frameOf(id: AuditIdentity, operation: string, caller: Caller, agent: string | undefined): Frame {
  let byCaller = frames.get(id);
  if (!byCaller) frames.set(id, (byCaller = new Map()));
  // (undefined and '' differ for every optional part: '' is logged as given, undefined is not)
  const part = (v: string | undefined) => (v === undefined ? '-' : `=${v}`);
  const key = `${operation}\0${caller.kind}\0${part(caller.accessKeyId)}\0${part(caller.sourceAddress)}\0${part(agent)}`;
  return cached(byCaller, key, () => {
    const op = Object.hasOwn(operations, operation) ? operations[operation as OperationName] : undefined;
    const identity: CloudTrailEvent['userIdentity'] =
      caller.accessKeyId !== undefined
        ? { type: 'IAMUser', principalId: caller.accessKeyId, accountId: id.accountId, accessKeyId: caller.accessKeyId }
        : { type: 'AWSAccount', principalId: id.accountId, accountId: id.accountId };
    if (caller.kind !== 'endpoint') identity.invokedBy = caller.kind === 'cli' ? 'ekms-cli' : 'embedded-kms';
    const readOnly = isReadOnly(operation);
    return {
      head: `{"eventVersion":"${EVENT_VERSION}","userIdentity":${q(identity)},"eventTime":"`,
      middle:
        `","eventSource":"kms.amazonaws.com","eventName":${str(operation)},"awsRegion":${str(id.region)},` +
        `"sourceIPAddress":${str(caller.sourceAddress ?? (caller.kind === 'cli' ? 'ekms-cli' : 'embedded-kms'))},` +
        `"userAgent":${str(agent ?? id.userAgent)},"requestParameters":`,
      tail:
        `"readOnly":${readOnly},"eventType":"AwsApiCall","managementEvent":true,` +
        `"recipientAccountId":${str(id.accountId)},"eventCategory":"Management"`,
      readOnly,
      input: op?.input,
      output: op?.output,
    };
  });
}

// The resources member for a list of key ARNs, by the list.
const resourceJson = new Map<string, string>();
function resourcesOf(id: AuditIdentity, arns: string[]): string {
  return cached(resourceJson, `${id.accountId}\0${arns.join('\0')}`, () =>
    q(arns.map((ARN) => ({ accountId: KEY_ARN.exec(ARN)?.[1] ?? id.accountId, type: 'AWS::KMS::Key', ARN }))),
  );
}

/**
 * The audit line of one call: a CloudTrail event as JSON, written directly (this runs for every
 * operation, on the hot path of Sign and Encrypt).
 */
export function eventLine(id: AuditIdentity, call: CallRecord): string {
  const { caller } = call;
  const userAgent = (caller as { userAgent?: unknown }).userAgent;
  const agent = typeof userAgent === 'string' ? userAgent.slice(0, 512) : undefined;
  const frame = frameOf(id, String(call.operation), caller, agent);
  const failed = call.error !== undefined;
  let extra = '';
  if (failed) {
    // Only AWS errors' own messages (AWS's wording, written never to hold secrets); anything
    // else is summarised by its AWS type.
    const [code, message] = call.error instanceof KmsError ? [call.error.name, call.error.message] : ['KMSInternalException', 'Internal error'];
    extra += `,"errorCode":${q(code)},"errorMessage":${q(message)}`;
  }
  const arns = keyArns(id, call.input, failed ? undefined : call.output);
  if (arns.length > 0) extra += `,"resources":${resourcesOf(id, arns)}`;
  return (
    frame.head +
    isoSeconds(call.time) +
    frame.middle +
    loggableJson(frame.input, call.input) +
    // As AWS logs them: read-only calls (every cryptographic operation among them) and failed
    // calls have no responseElements; the key they used is in resources.
    `,"responseElements":${failed || frame.readOnly ? 'null' : loggableJson(frame.output, call.output)},` +
    `"requestID":${str(String(caller.requestId))},"eventID":"${randomUUID()}",${frame.tail}${extra}}`
  );
}

/** The event of one call as an object (eventLine, parsed). */
export function cloudTrailEvent(id: AuditIdentity, call: CallRecord): CloudTrailEvent {
  return JSON.parse(eventLine(id, call)) as CloudTrailEvent;
}

/**
 * An action the key store took by itself (CloudTrail's AwsServiceEvent): a scheduled deletion
 * (DeleteKey), an automatic rotation (RotateKey), expired imported material
 * (DeleteExpiredKeyMaterial). Always a key management event.
 */
export function serviceEvent(id: AuditIdentity, name: string, keyArn: string, time: Date, details: Record<string, unknown> = {}): CloudTrailEvent {
  return {
    eventVersion: EVENT_VERSION,
    userIdentity: { type: 'AWSService', principalId: 'kms.amazonaws.com', accountId: id.accountId, invokedBy: 'kms.amazonaws.com' },
    eventTime: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'kms.amazonaws.com',
    eventName: name,
    awsRegion: id.region,
    sourceIPAddress: 'kms.amazonaws.com',
    userAgent: 'kms.amazonaws.com',
    requestParameters: null,
    responseElements: null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    resources: [{ accountId: KEY_ARN.exec(keyArn)?.[1] ?? id.accountId, type: 'AWS::KMS::Key', ARN: keyArn }],
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: id.accountId,
    eventCategory: 'Management',
    ...(Object.keys(details).length ? { additionalEventData: details } : {}),
  } as CloudTrailEvent;
}
