using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Edge.Runtime.Ir;
using Edge.Runtime.Tensors;
using Attribute = Edge.Runtime.Ir.Attribute;

namespace Edge.Runtime.Format;

/// <summary>
/// The GRPH section: the graph's structure as UTF-8 JSON (schema in docs/format.md). Op kinds are
/// written by <see cref="OpKind"/> member name, so reordering the enum never changes a file.
/// Floats are written as shortest round-trip numbers; NaN and infinities as the strings "NaN",
/// "Infinity", "-Infinity" (JSON has no literal for them).
/// </summary>
internal static class GraphJson
{
    private static readonly Dictionary<string, OpKind> KindsByName = BuildKinds();

    private static Dictionary<string, OpKind> BuildKinds()
    {
        // Not Enum.TryParse: it also accepts "3" and "Lstm, Gru", which must not name a kind.
        var map = new Dictionary<string, OpKind>(StringComparer.Ordinal);
        foreach (var k in Enum.GetValues<OpKind>()) map[Enum.GetName(k)!] = k;
        return map;
    }

    // ── writing ──────────────────────────────────────────────────────────────────────────────

    public static byte[] Write(Graph graph, IReadOnlyList<string> constantNames)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("name", graph.Name);
            WriteValues(w, "inputs", graph.Inputs);
            WriteValues(w, "outputs", graph.Outputs);
            w.WriteStartArray("constants");
            foreach (var c in constantNames) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteStartArray("nodes");
            foreach (var n in graph.Nodes)
            {
                if (!Enum.IsDefined(n.Kind))
                    throw new EdgeException($"node '{n.Name}' has kind {(int)n.Kind}, which is not a member of OpKind");
                w.WriteStartObject();
                w.WriteString("name", n.Name);
                w.WriteString("kind", Enum.GetName(n.Kind));
                w.WriteStartArray("inputs");
                foreach (var i in n.Inputs) w.WriteStringValue(i);
                w.WriteEndArray();
                w.WriteStartArray("outputs");
                foreach (var o in n.Outputs) w.WriteStringValue(o);
                w.WriteEndArray();
                w.WriteStartObject("attributes");
                foreach (var key in n.Attributes.Keys.Order(StringComparer.Ordinal))
                    WriteAttribute(w, n, key, n.Attributes[key]);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteValues(Utf8JsonWriter w, string field, List<ValueInfo> values)
    {
        w.WriteStartArray(field);
        foreach (var v in values)
        {
            if (!Enum.IsDefined(v.DataType))
                throw new EdgeException($"graph {field[..^1]} '{v.Name}' has dtype {(int)v.DataType}, which is not a member of DataType");
            foreach (var d in v.Shape)
                if (d < ValueInfo.Dynamic)
                    throw new EdgeException($"graph {field[..^1]} '{v.Name}' has shape {v.ShapeString} with a dimension below -1");
            w.WriteStartObject();
            w.WriteString("name", v.Name);
            w.WriteString("dtype", v.DataType.Name());
            w.WriteStartArray("shape");
            foreach (var d in v.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteAttribute(Utf8JsonWriter w, Node n, string key, Attribute a)
    {
        w.WriteStartObject(key);
        switch (a.Kind)
        {
            case AttributeKind.Int: w.WriteNumber("int", a.Int); break;
            case AttributeKind.Float: w.WritePropertyName("float"); WriteFloat(w, a.Float); break;
            case AttributeKind.String: w.WriteString("string", a.String); break;
            case AttributeKind.Ints:
                w.WriteStartArray("ints");
                foreach (var v in a.Ints!) w.WriteNumberValue(v);
                w.WriteEndArray();
                break;
            case AttributeKind.Floats:
                w.WriteStartArray("floats");
                foreach (var v in a.Floats!) WriteFloat(w, v);
                w.WriteEndArray();
                break;
            case AttributeKind.Strings:
                w.WriteStartArray("strings");
                foreach (var v in a.Strings!) w.WriteStringValue(v);
                w.WriteEndArray();
                break;
            default: throw new EdgeException($"node '{n.Name}': attribute '{key}' has unknown kind {(int)a.Kind}");
        }
        w.WriteEndObject();
    }

    private static void WriteFloat(Utf8JsonWriter w, float v)
    {
        if (float.IsNaN(v)) w.WriteStringValue("NaN");
        else if (float.IsPositiveInfinity(v)) w.WriteStringValue("Infinity");
        else if (float.IsNegativeInfinity(v)) w.WriteStringValue("-Infinity");
        // Written by hand: "R" is the shortest text that parses back to the same float (and keeps -0).
        else w.WriteRawValue(v.ToString("R", CultureInfo.InvariantCulture), skipInputValidation: true);
    }

    // ── reading ──────────────────────────────────────────────────────────────────────────────

    /// <summary>The graph (without constants) and the constant names GRPH lists, in order.</summary>
    public static (Graph Graph, List<string> ConstantNames) Read(JsonElement root, Func<string, EdgeFormatException> fail)
    {
        var ctx = new Ctx(fail);
        ctx.Object(root, "the graph", ["name", "inputs", "outputs", "constants", "nodes"]);
        var graph = new Graph { Name = ctx.String(root, "name", "the graph") };
        foreach (var (v, i) in ctx.Array(root, "inputs", "the graph")) graph.Inputs.Add(ctx.Value(v, $"input {i}"));
        foreach (var (v, i) in ctx.Array(root, "outputs", "the graph")) graph.Outputs.Add(ctx.Value(v, $"output {i}"));
        var constants = ctx.Strings(root, "constants", "the graph");
        foreach (var (e, i) in ctx.Array(root, "nodes", "the graph"))
        {
            string where = $"node {i}";
            ctx.Object(e, where, ["name", "kind", "inputs", "outputs", "attributes"]);
            string name = ctx.String(e, "name", where);
            where = $"node {i} ('{name}')";
            string kindName = ctx.String(e, "kind", where);
            if (!KindsByName.TryGetValue(kindName, out var kind))
                throw fail($"{where}: unknown op kind '{kindName}'; this build of Edge does not know it (written by a newer Edge?)");
            var node = new Node(kind, name, ctx.Strings(e, "inputs", where), ctx.Strings(e, "outputs", where));
            var attrs = ctx.Field(e, "attributes", where, JsonValueKind.Object);
            foreach (var p in attrs.EnumerateObject())
                node.Attributes[p.Name] = ctx.Attribute(p.Value, $"{where}: attribute '{p.Name}'");
            graph.Nodes.Add(node);
        }
        return (graph, constants);
    }

    private sealed class Ctx(Func<string, EdgeFormatException> fail)
    {
        public void Object(JsonElement e, string where, string[] allowed)
        {
            if (e.ValueKind != JsonValueKind.Object) throw fail($"{where}: should be an object, not {Describe(e)}");
            foreach (var p in e.EnumerateObject())
                if (global::System.Array.IndexOf(allowed, p.Name) < 0)
                    throw fail($"{where}: unknown field '{p.Name}' (v1 fields: {string.Join(", ", allowed)})");
        }

        public JsonElement Field(JsonElement obj, string field, string where, JsonValueKind kind)
        {
            if (!obj.TryGetProperty(field, out var v)) throw fail($"{where}: missing field '{field}'");
            if (v.ValueKind != kind) throw fail($"{where}: field '{field}' should be {Describe(kind)}, not {Describe(v)}");
            return v;
        }

        public string String(JsonElement obj, string field, string where) =>
            Field(obj, field, where, JsonValueKind.String).GetString()!;

        public IEnumerable<(JsonElement, int)> Array(JsonElement obj, string field, string where) =>
            Field(obj, field, where, JsonValueKind.Array).EnumerateArray().Select((e, i) => (e, i));

        public List<string> Strings(JsonElement obj, string field, string where)
        {
            var list = new List<string>();
            foreach (var (e, i) in Array(obj, field, where))
            {
                if (e.ValueKind != JsonValueKind.String) throw fail($"{where}: {field}[{i}] should be a string, not {Describe(e)}");
                list.Add(e.GetString()!);
            }
            return list;
        }

        public ValueInfo Value(JsonElement e, string where)
        {
            Object(e, where, ["name", "dtype", "shape"]);
            string name = String(e, "name", where);
            where = $"{where} ('{name}')";
            string dtype = String(e, "dtype", where);
            if (!DataTypes.TryParse(dtype, out var t)) throw fail($"{where}: unknown dtype '{dtype}'");
            var shape = new List<int>();
            foreach (var (d, i) in Array(e, "shape", where))
            {
                if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < ValueInfo.Dynamic || v > int.MaxValue)
                    throw fail($"{where}: shape[{i}] is {d.GetRawText()}; a dimension is an integer in [-1, 2147483647] (-1 = dynamic)");
                shape.Add((int)v);
            }
            return new ValueInfo(name, t, shape.ToArray());
        }

        public Attribute Attribute(JsonElement e, string where)
        {
            if (e.ValueKind != JsonValueKind.Object) throw fail($"{where}: should be an object like {{\"int\": 3}}, not {Describe(e)}");
            JsonProperty? only = null;
            foreach (var p in e.EnumerateObject())
            {
                if (only is not null) throw fail($"{where}: has more than one field ('{only.Value.Name}', '{p.Name}')");
                only = p;
            }
            if (only is null) throw fail($"{where}: is empty; expected one of int, float, string, ints, floats, strings");
            var (kind, v) = (only.Value.Name, only.Value.Value);
            switch (kind)
            {
                case "int": return Ir.Attribute.Of(Int(v, where));
                case "float": return Ir.Attribute.Of(Float(v, where));
                case "string":
                    if (v.ValueKind != JsonValueKind.String) throw fail($"{where}: 'string' should be a string, not {Describe(v)}");
                    return Ir.Attribute.Of(v.GetString()!);
                case "ints": return Ir.Attribute.Of(List(v, where, kind).Select(x => Int(x, where)).ToArray());
                case "floats": return Ir.Attribute.Of(List(v, where, kind).Select(x => Float(x, where)).ToArray());
                case "strings":
                    return Ir.Attribute.Of(List(v, where, kind).Select(x => x.ValueKind == JsonValueKind.String
                        ? x.GetString()!
                        : throw fail($"{where}: 'strings' holds {Describe(x)}, not a string")).ToArray());
                default: throw fail($"{where}: unknown attribute type '{kind}'; expected one of int, float, string, ints, floats, strings");
            }
        }

        private List<JsonElement> List(JsonElement v, string where, string kind) =>
            v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : throw fail($"{where}: '{kind}' should be an array, not {Describe(v)}");

        private long Int(JsonElement v, string where) =>
            v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x) ? x
                : throw fail($"{where}: {v.GetRawText()} is not a 64-bit integer");

        private float Float(JsonElement v, string where)
        {
            if (v.ValueKind == JsonValueKind.String)
            {
                return v.GetString() switch
                {
                    "NaN" => float.NaN,
                    "Infinity" => float.PositiveInfinity,
                    "-Infinity" => float.NegativeInfinity,
                    var s => throw fail($"{where}: \"{s}\" is not a float (strings allowed: \"NaN\", \"Infinity\", \"-Infinity\")"),
                };
            }
            if (v.ValueKind == JsonValueKind.Number && v.TryGetSingle(out float f) && float.IsFinite(f)) return f;
            throw fail($"{where}: {v.GetRawText()} is not a finite float32");
        }
    }

    private static string Describe(JsonElement e) => Describe(e.ValueKind);

    private static string Describe(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
