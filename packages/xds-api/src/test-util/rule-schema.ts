// Builds one-field message types at run time with whatever (validate.rules)
// a test needs, so every PGV rule family can be exercised even where no
// Envoy message uses it.
import { create, createFileRegistry, setExtension, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import {
  DescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  MessageOptionsSchema,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { FieldRulesSchema, disabled, rules as rulesExt } from "../gen/validate/validate_pb.js";

export type FieldRulesInit = MessageInitShape<typeof FieldRulesSchema>;

export interface FieldSpec {
  type: FieldDescriptorProto_Type;
  /** Fully-qualified type for message/enum fields, e.g. ".google.protobuf.Duration". */
  typeName?: string;
  repeated?: boolean;
  /** Makes the field a map from this key type to `type`. */
  mapKey?: FieldDescriptorProto_Type;
  /** proto3 `optional`. */
  optional?: boolean;
}

const deps = [file_google_protobuf_any, file_google_protobuf_duration, file_google_protobuf_struct, file_google_protobuf_timestamp, file_google_protobuf_wrappers];
let counter = 0;

function options(rules: FieldRulesInit | undefined) {
  const opts = create(FieldOptionsSchema);
  if (rules) setExtension(opts, rulesExt, create(FieldRulesSchema, rules));
  return opts;
}

export interface SchemaOptions {
  /** Sets `(validate.disabled)` on the message. */
  disabled?: boolean;
  /** Adds unknown MessageOptions field 1072 = true, i.e. the newer `(validate.ignored)`. */
  ignored?: boolean;
}

/** A message `M` with a single field `f` (and, for a map, its entry type). */
export function oneFieldSchema(spec: FieldSpec, rules?: FieldRulesInit, schemaOptions: SchemaOptions = {}): DescMessage {
  const name = `rules_${++counter}.proto`;
  const pkg = `weft.test.r${counter}`;
  const field = create(FieldDescriptorProtoSchema, {
    name: "f",
    jsonName: "f",
    number: 1,
    label: spec.repeated || spec.mapKey !== undefined ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
    type: spec.mapKey !== undefined ? FieldDescriptorProto_Type.MESSAGE : spec.type,
    typeName: spec.mapKey !== undefined ? `.${pkg}.M.FEntry` : spec.typeName,
    options: options(rules),
  });
  const message = create(DescriptorProtoSchema, { name: "M", field: [field] });
  if (spec.optional) {
    field.proto3Optional = true;
    field.oneofIndex = 0;
    message.oneofDecl.push({ $typeName: "google.protobuf.OneofDescriptorProto", name: "_f" });
  }
  if (spec.mapKey !== undefined) {
    message.nestedType.push(create(DescriptorProtoSchema, {
      name: "FEntry",
      field: [
        { name: "key", jsonName: "key", number: 1, label: FieldDescriptorProto_Label.OPTIONAL, type: spec.mapKey },
        { name: "value", jsonName: "value", number: 2, label: FieldDescriptorProto_Label.OPTIONAL, type: spec.type, typeName: spec.typeName },
      ],
      options: { mapEntry: true },
    }));
  }
  const msgOptions = create(MessageOptionsSchema);
  if (schemaOptions.disabled) setExtension(msgOptions, disabled, true);
  if (schemaOptions.ignored) msgOptions.$unknown = [{ no: 1072, wireType: 0, data: new Uint8Array([1]) }];
  message.options = msgOptions;
  const file: FileDescriptorProto = create(FileDescriptorProtoSchema, {
    name,
    package: pkg,
    syntax: "proto3",
    dependency: deps.map((d) => d.proto.name),
    messageType: [message],
  });
  const registry = createFileRegistry(file, (dep) => deps.find((d) => d.proto.name === dep));
  const desc = registry.getMessage(`${pkg}.M`);
  if (!desc) throw new Error(`test schema ${pkg}.M was not built`);
  return desc;
}
