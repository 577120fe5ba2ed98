// The audit trail: every operation of a Kms (library, endpoint, CLI) appends one
// CloudTrail-shaped JSON line to $EKMS_HOME/audit.log (or the configured path). See event.ts
// for the record, redact.ts for what is never logged, log.ts for durability.
import type { Arns } from '../keys/arn.js';
import type { OperationName } from '../model/service-model.js';
import type { AdditionalEventData, Caller } from '../operations/operation.js';
import { userAgent } from '../version.js';
import { eventPieces, isReadOnly, serviceEvent, type AuditIdentity, type LinePiece } from './event.js';
import { AuditLog } from './log.js';

export { cloudTrailEvent, eventLine, isReadOnly, serviceEvent, type CloudTrailEvent } from './event.js';
export { loggable } from './redact.js';
export { AuditLog } from './log.js';

export class AuditTrail {
  private readonly log: AuditLog;
  private readonly id: AuditIdentity;

  constructor(path: string, arns: Pick<Arns, 'region' | 'accountId' | 'partition'>) {
    this.log = new AuditLog(path);
    this.id = { region: arns.region, accountId: arns.accountId, partition: arns.partition, userAgent };
  }

  get path(): string {
    return this.log.path;
  }

  /**
   * Records one call. Never throws or rejects: an audit trail that cannot be written is reported
   * once as a process warning, and the call's own outcome stands. The promise settles once the
   * event is as durable as its kind requires: a successful key management event fsynced, any
   * other event buffered (on disk within a second).
   */
  record(
    operation: OperationName | string,
    input: unknown,
    caller: Caller,
    time: Date,
    outcome: { output?: unknown; error?: unknown; eventId?: string | undefined; additionalEventData?: AdditionalEventData | undefined; actedOnKeyId?: string | undefined },
  ): Promise<void> | undefined {
    let line: LinePiece[];
    try {
      line = eventPieces(this.id, { operation, input, caller, time, output: outcome.output, error: outcome.error, eventId: outcome.eventId, additionalEventData: outcome.additionalEventData, actedOnKeyId: outcome.actedOnKeyId });
    } catch {
      return undefined;
    }
    // A failed call changed nothing: only successful key management events wait for the disk.
    if (isReadOnly(String(operation)) || outcome.error !== undefined) {
      this.log.append(line);
      return undefined;
    }
    return this.log.appendDurable(line);
  }

  /**
   * Records an action the store took by itself (a scheduled deletion: `DeleteKey`, an automatic
   * rotation: `RotateKey`), durably: the promise settles once it is fsynced. Never rejects.
   */
  recordServiceEvent(name: string, keyArn: string, time: Date, details: Record<string, unknown> = {}): Promise<void> {
    let line: string;
    try {
      line = JSON.stringify(serviceEvent(this.id, name, keyArn, time, details));
    } catch {
      return Promise.resolve(); // never fails the action it records
    }
    return this.log.appendDurable(line);
  }

  /** Writes and syncs everything recorded so far. */
  flush(): Promise<void> {
    return this.log.flush();
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
