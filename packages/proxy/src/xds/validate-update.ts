import { schemaOfAny, unpackAny, validateMessage } from "@weft/xds-api";
import { ResourceRejectedError, type ResourceUpdate } from "../contracts.js";

/**
 * Envoy checks every xDS resource against its proto validation rules (PGV)
 * before using it; the data path's compilers check what they implement. A
 * violation rejects the whole batch (→ NACK) naming the resource and field.
 */
export function validateUpdate(update: ResourceUpdate): void {
  for (const r of update.resources) {
    let issues;
    try {
      const schema = schemaOfAny(r.resource);
      issues = validateMessage(schema, unpackAny(r.resource, schema));
    } catch (err) {
      throw new ResourceRejectedError(r.name, "", `cannot decode ${r.resource.typeUrl}: ${(err as Error).message}`);
    }
    const first = issues[0];
    if (first) throw new ResourceRejectedError(r.name, first.path, first.message);
  }
}
