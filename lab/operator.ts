// The operator's key as the `post` command holds it: one operator file per organisation (lab.json's
// `orgs[].operator`, else `operator.json` in the organisation's CA folder), and the signed envelope
// every control request travels in. A request made as a user is sealed to the node's key and signed
// by that user too (the user's keys come from logging in with its password: lab/users.ts).
import { osRandom } from '../infra/random';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { signControl } from '../crypto/controlAuth';
import { sealToNode } from '../crypto/nodeSeal';
import { OPERATOR_FILE, type OperatorFile, readOperator } from '../infra/files/identity';
import { SignedControl } from '../protocol/control';
import type { UnlockedUser } from '../storage/users/unlockedUser';
import { OperatorError } from './errors';
import type { LabOrg } from './labFile';

/** Where an organisation's operator file is: what lab.json says, or the CA folder's. */
export const operatorFileOf = (org: LabOrg): string => org.operator ?? join(org.ca, OPERATOR_FILE);

export class ControlSigner {
  private readonly loaded = new Map<string, OperatorFile>();

  /** The operator of `org`, read once; a clear error when there is none. */
  operatorOf(org: LabOrg): OperatorFile {
    let op = this.loaded.get(org.domain);
    if (op) return op;
    const file = operatorFileOf(org);
    if (!existsSync(file))
      throw new OperatorError(
        `no operator key for ${org.domain} at ${file}: control requests must be signed. \`post ca operator --ca CADIR --name NAME --out FILE\` makes one; put its path in lab.json as orgs[].operator`,
      );
    op = readOperator(file);
    if (op.cert.org !== org.domain) throw new OperatorError(`${file} is an operator of ${op.cert.org}, not of ${org.domain}`);
    this.loaded.set(org.domain, op);
    return op;
  }

  /**
   * A control request for `nodeId` of `org`, signed by its operator. A request made as a user (`as`)
   * is sealed to the node's key (`nodeKey`, its Ed25519 key) and signed by the user too.
   */
  sign(org: LabOrg, nodeId: string, request: Uint8Array, as?: { user: UnlockedUser; nodeKey: Uint8Array }): Uint8Array {
    const operator = this.operatorOf(org);
    const body = as ? sealToNode(as.nodeKey, request) : request;
    const fields = { ringId: org.ringId, nodeId, timeMs: Date.now(), nonce: osRandom.bytes(16), request: body };
    const signatures = signControl(fields, operator, as?.user.signing.secretKey);
    return SignedControl.encode({ operator: operator.cert, nodeId, timeMs: fields.timeMs, nonce: fields.nonce, request: body, ...(as ? { sealed: true } : {}), ...signatures });
  }
}
