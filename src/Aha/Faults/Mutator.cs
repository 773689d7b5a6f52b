using System.Text;
using System.Text.Json.Nodes;

namespace Aha.Faults;

/// <summary>
/// Seeded mutations of an input file: bit flips, truncations, insertions and deletions of bytes and of JSON tokens, and
/// JSON-structure-aware edits (a value of another kind, a missing or extra key, deep nesting, extreme numbers) applied to
/// one line of a JSON Lines file or to a whole JSON document. Same seed, same mutations.
/// </summary>
public static class Mutator
{
    static readonly string[] Tokens =
    [
        "\"", "{", "}", "[", "]", ",", ":", "null", "true", "\n", "\r\n", "\\", "\\u0000", "\\ud800", "1e999", "-1", "0", "NaN",
        "99999999999999999999999", "\"\":", "{}", "[]", "\t", " ", "\u00e9", "\ud83d\ude00", "####", "\\boxed{", "}}", "<answer>",
    ];

    /// <summary>One to three mutations of <paramref name="input"/>.</summary>
    public static byte[] Mutate(byte[] input, Random random)
    {
        byte[] data = input;
        int count = 1 + random.Next(3);
        for (int i = 0; i < count; i++) data = MutateOnce(data, random);
        return data;
    }

    static byte[] MutateOnce(byte[] data, Random random)
    {
        var bytes = new List<byte>(data);
        int at = bytes.Count == 0 ? 0 : random.Next(bytes.Count + 1);
        switch (random.Next(9))
        {
            case 0: // bit flips
                if (bytes.Count == 0) goto case 2;
                for (int k = 1 + random.Next(4); k > 0; k--) { int i = random.Next(bytes.Count); bytes[i] ^= (byte)(1 << random.Next(8)); }
                return [.. bytes];
            case 1: // truncation
                return [.. bytes.Take(random.Next(bytes.Count + 1))];
            case 2: // random bytes
                var noise = new byte[1 + random.Next(8)];
                random.NextBytes(noise);
                bytes.InsertRange(at, noise);
                return [.. bytes];
            case 3: // a JSON-ish token
                bytes.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[random.Next(Tokens.Length)]));
                return [.. bytes];
            case 4: // deletion of a range
                if (bytes.Count == 0) goto case 3;
                int start = random.Next(bytes.Count);
                bytes.RemoveRange(start, Math.Min(bytes.Count - start, 1 + random.Next(16)));
                return [.. bytes];
            case 5: // duplication of a range
                if (bytes.Count == 0) goto case 3;
                int from = random.Next(bytes.Count), length = Math.Min(bytes.Count - from, 1 + random.Next(64));
                bytes.InsertRange(at, bytes.GetRange(from, length));
                return [.. bytes];
            default: // structure-aware, on one line of JSON Lines or on the whole document
                return MutateJson(data, random);
        }
    }

    static byte[] MutateJson(byte[] data, Random random)
    {
        string text = Encoding.UTF8.GetString(data);
        string[] lines = text.Split('\n');
        int line = random.Next(lines.Length);
        bool whole = lines.Length <= 2 || random.Next(4) == 0;
        string target = whole ? text : lines[line];
        string edited;
        try
        {
            var root = JsonNode.Parse(target);
            if (root is null) return MutateOnce(data, random);
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            root = Edit(root, nodes[random.Next(nodes.Count)], random);
            edited = root?.ToJsonString() ?? "null";
        }
        // Not JSON (an earlier mutation), a duplicate key, or nested past the writer's depth limit: mutate the bytes instead.
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException) { return MutateOnce(data, random); }
        if (whole) return Encoding.UTF8.GetBytes(edited);
        lines[line] = edited;
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    static void Collect(JsonNode node, List<JsonNode> nodes)
    {
        nodes.Add(node);
        if (node is JsonObject o) foreach (var (_, v) in o) { if (v is not null) Collect(v, nodes); }
        else if (node is JsonArray a) foreach (var v in a) { if (v is not null) Collect(v, nodes); }
    }

    static JsonNode? Edit(JsonNode root, JsonNode node, Random random)
    {
        JsonNode? replacement = random.Next(12) switch
        {
            0 => null,
            1 => JsonValue.Create(""),
            2 => JsonValue.Create(-1),
            3 => JsonValue.Create(1e300),
            4 => JsonValue.Create(long.MaxValue),
            5 => JsonValue.Create(0.5),
            6 => JsonValue.Create(true),
            7 => new JsonArray(),
            8 => new JsonObject(),
            9 => Nest(random.Next(2, 60)),
            10 => JsonValue.Create(new string('9', 1 + random.Next(400))),
            _ => JsonValue.Create("\u0000\ud800x"),
        };
        if (node is JsonObject obj && obj.Count > 0 && random.Next(3) == 0)
        {
            // Remove or add a key rather than replace the object.
            if (random.Next(2) == 0) obj.Remove(obj.ElementAt(random.Next(obj.Count)).Key);
            else obj[$"extra{random.Next(100)}"] = replacement;
            return root;
        }
        if (node.Parent is null) return replacement ?? JsonValue.Create(0);
        if (node.Parent is JsonObject parent) parent[node.GetPropertyName()] = replacement;
        else if (node.Parent is JsonArray array) array[node.GetElementIndex()] = replacement;
        return root;
    }

    static JsonNode Nest(int depth)
    {
        JsonNode node = JsonValue.Create(1);
        for (int i = 0; i < depth; i++) node = new JsonArray(node);
        return node;
    }
}
