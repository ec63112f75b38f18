import { isMessage, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { schemaOfAny, unpackAny } from "../any.js";

/** Visits every `Any` in a message tree, unpacking each through the registry and descending into it. */
export function forEachAny(schema: DescMessage, message: Message, visit: (any: Any, path: string) => void, path = ""): void {
  walk(reflect(schema, message), path, visit);
}

function walk(msg: ReflectMessage, path: string, visit: (any: Any, path: string) => void): void {
  if (msg.desc.typeName === AnySchema.typeName) {
    const any = msg.message as Any;
    visit(any, path);
    const { message } = unpackAny(any);
    walk(reflect(schemaOfAny(any), message), `${path}<${any.typeUrl.split("/").pop()}>`, visit);
    return;
  }
  for (const field of msg.fields) {
    if (!msg.isSet(field)) continue;
    const at = `${path}.${field.name}`;
    if (field.fieldKind === "message") {
      walk(msg.get(field) as ReflectMessage, at, visit);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      let i = 0;
      for (const item of msg.get(field)) walk(item as ReflectMessage, `${at}[${i++}]`, visit);
    } else if (field.fieldKind === "map" && field.mapKind === "message") {
      for (const [key, value] of msg.get(field)) walk(value as ReflectMessage, `${at}[${String(key)}]`, visit);
    }
  }
}

export { isMessage };
