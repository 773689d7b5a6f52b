using System.Text;
using System.Text.Json;

namespace Aha.Tokenizer.Hf;

/// <summary>
/// The non-model parts of tokenizer.json as Aha supports them: the normalizer (NFC or none), the post-processor's
/// special tokens around a single sequence, and the decoder (ByteLevel or none). Anything else is refused by name.
/// </summary>
sealed class TokenizerPipeline
{
    public bool Nfc { get; private init; }
    public int[] Prefix { get; private set; } = [];
    public int[] Suffix { get; private set; } = [];
    public bool ByteLevelDecoder { get; private init; }
    public bool HasDecoder { get; private init; }

    public static TokenizerPipeline Parse(JsonElement root, string where, Func<string, int?> tokenToId)
    {
        bool nfc = root.TryGetProperty("normalizer", out var n) && ParseNormalizer(n, "normalizer", where);
        var (prefix, suffix) = root.TryGetProperty("post_processor", out var p) ? ParsePost(p, "post_processor", where, tokenToId) : ([], []);
        bool hasDecoder = root.TryGetProperty("decoder", out var d) && d.ValueKind != JsonValueKind.Null;
        if (hasDecoder) CheckDecoder(d, "decoder", where);
        return new TokenizerPipeline { Nfc = nfc, Prefix = prefix, Suffix = suffix, ByteLevelDecoder = hasDecoder, HasDecoder = hasDecoder };
    }

    /// <summary>transformers' <c>LlamaTokenizerFast.update_post_processor</c>: BOS/EOS by <c>add_bos_token</c>/<c>add_eos_token</c>.</summary>
    public void ReplacePostProcessor(int? bos, int? eos)
    {
        Prefix = bos is { } b ? [b] : [];
        Suffix = eos is { } e ? [e] : [];
    }

    // True when the normalizer is NFC (possibly inside Sequences); no normalizer or an empty Sequence is false.
    static bool ParseNormalizer(JsonElement node, string path, string where)
    {
        if (node.ValueKind == JsonValueKind.Null) return false;
        var type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "NFC": return true;
            case "Sequence":
                bool nfc = false;
                int i = 0;
                foreach (var child in node.GetProperty("normalizers").EnumerateArray())
                {
                    // NFC twice is NFC once; NFC then anything else would need order, which no supported file has.
                    nfc |= ParseNormalizer(child, $"{path}.normalizers[{i++}]", where);
                }
                return nfc;
            default:
                throw BpeModel.Unsupported(where, $"{path}.type", $"'{type}'", "null, NFC, or a Sequence of NFC");
        }
    }

    static (int[] Prefix, int[] Suffix) ParsePost(JsonElement node, string path, string where, Func<string, int?> tokenToId)
    {
        if (node.ValueKind == JsonValueKind.Null) return ([], []);
        var type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "ByteLevel":
                return ([], []); // only trims offsets, which Aha does not report
            case "Sequence":
            {
                List<int> prefix = [], suffix = [];
                int i = 0;
                foreach (var child in node.GetProperty("processors").EnumerateArray())
                {
                    var (p, s) = ParsePost(child, $"{path}.processors[{i++}]", where, tokenToId);
                    prefix.InsertRange(0, p);
                    suffix.AddRange(s);
                }
                return ([.. prefix], [.. suffix]);
            }
            case "TemplateProcessing":
            {
                List<int> prefix = [], suffix = [];
                bool seenSequence = false;
                var specials = node.GetProperty("special_tokens");
                int i = 0;
                foreach (var piece in node.GetProperty("single").EnumerateArray())
                {
                    var piecePath = $"{path}.single[{i++}]";
                    if (piece.TryGetProperty("Sequence", out var seq))
                    {
                        if (seq.GetProperty("id").GetString() != "A" || seenSequence)
                            throw BpeModel.Unsupported(where, piecePath, seq.GetRawText(), "one {\"Sequence\": {\"id\": \"A\"}} in single");
                        seenSequence = true;
                    }
                    else if (piece.TryGetProperty("SpecialToken", out var st))
                    {
                        var name = st.GetProperty("id").GetString()!;
                        int[] ids = specials.TryGetProperty(name, out var spec)
                            ? [.. spec.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())]
                            : tokenToId(name) is { } id ? [id]
                            : throw new InvalidDataException($"{where}: {piecePath} names special token '{name}', which {path}.special_tokens lacks.");
                        (seenSequence ? suffix : prefix).AddRange(ids);
                    }
                    else throw BpeModel.Unsupported(where, piecePath, piece.GetRawText(), "Sequence or SpecialToken");
                }
                return ([.. prefix], [.. suffix]);
            }
            default:
                throw BpeModel.Unsupported(where, $"{path}.type", $"'{type}'", "null, ByteLevel, TemplateProcessing, Sequence");
        }
    }

    static void CheckDecoder(JsonElement node, string path, string where)
    {
        var type = node.GetProperty("type").GetString();
        if (type == "ByteLevel") return;
        if (type == "Sequence")
        {
            var children = node.GetProperty("decoders").EnumerateArray().ToList();
            // A Sequence of one ByteLevel decodes as ByteLevel.
            if (children.Count == 1) { CheckDecoder(children[0], $"{path}.decoders[0]", where); return; }
            throw BpeModel.Unsupported(where, $"{path}.decoders", $"{children.Count} decoders", "one ByteLevel");
        }
        throw BpeModel.Unsupported(where, $"{path}.type", $"'{type}'", "null, ByteLevel, or a Sequence of one ByteLevel");
    }

    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    static readonly Dictionary<char, byte> UnicodeToByte =
        TokenizerFiles.ByteToUnicode.Select((s, b) => (s[0], (byte)b)).ToDictionary(x => x.Item1, x => x.Item2);

    /// <summary>Rust's ByteLevel decoder: each token's characters back to bytes, a token with any other character as its UTF-8; lossy UTF-8.</summary>
    public string Decode(List<string> tokens)
    {
        if (!HasDecoder) return string.Join(' ', tokens);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            int mark = bytes.Count;
            bool mapped = true;
            foreach (var c in token)
            {
                if (!UnicodeToByte.TryGetValue(c, out var b)) { mapped = false; break; }
                bytes.Add(b);
            }
            if (!mapped)
            {
                bytes.RemoveRange(mark, bytes.Count - mark);
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }
        return Utf8.GetString(bytes.ToArray());
    }
}
