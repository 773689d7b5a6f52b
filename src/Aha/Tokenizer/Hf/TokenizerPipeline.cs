using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Aha.Tokenizer.Hf;

/// <summary>
/// The non-model parts of tokenizer.json as Aha supports them: the normalizers (NFC, Prepend, Replace), the
/// post-processor's special tokens around a single sequence, and the decoders (ByteLevel; Replace, ByteFallback, Fuse,
/// Strip as SentencePiece-style files chain them). Anything else is refused by name.
/// </summary>
sealed class TokenizerPipeline
{
    readonly List<Func<string, string>> normalizers = [];
    readonly List<Func<List<string>, List<string>>> decoders = [];
    public bool HasNormalizer => normalizers.Count > 0;
    public int[] Prefix { get; private set; } = [];
    public int[] Suffix { get; private set; } = [];
    public bool HasDecoder => decoders.Count > 0;

    public static TokenizerPipeline Parse(JsonElement root, string where, Func<string, int?> tokenToId)
    {
        var pipeline = new TokenizerPipeline();
        if (root.TryGetProperty("normalizer", out var n)) pipeline.AddNormalizer(n, "normalizer", where);
        (pipeline.Prefix, pipeline.Suffix) = root.TryGetProperty("post_processor", out var p) ? ParsePost(p, "post_processor", where, tokenToId) : ([], []);
        if (root.TryGetProperty("decoder", out var d)) pipeline.AddDecoder(d, "decoder", where);
        return pipeline;
    }

    /// <summary>The normalizers in order (Rust's <c>Sequence</c>); text unchanged when there are none.</summary>
    public string Normalize(string text)
    {
        foreach (var normalize in normalizers) text = normalize(text);
        return text;
    }

    /// <summary>transformers' <c>LlamaTokenizerFast.update_post_processor</c>: BOS/EOS by <c>add_bos_token</c>/<c>add_eos_token</c>.</summary>
    public void ReplacePostProcessor(int? bos, int? eos)
    {
        Prefix = bos is { } b ? [b] : [];
        Suffix = eos is { } e ? [e] : [];
    }

    void AddNormalizer(JsonElement node, string path, string where)
    {
        if (node.ValueKind == JsonValueKind.Null) return;
        var type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "NFC":
                normalizers.Add(Nfc);
                break;
            case "Sequence":
                int i = 0;
                foreach (var child in node.GetProperty("normalizers").EnumerateArray()) AddNormalizer(child, $"{path}.normalizers[{i++}]", where);
                break;
            case "Prepend":
                // Rust prepends only to non-empty text.
                var prepend = node.GetProperty("prepend").GetString()!;
                normalizers.Add(text => text.Length == 0 ? text : prepend + text);
                break;
            case "Replace":
                normalizers.Add(Replacer(node, $"{path}", where));
                break;
            default:
                throw BpeModel.Unsupported(where, $"{path}.type", $"'{type}'", "null, NFC, Prepend, Replace, or a Sequence of them");
        }
    }

    static string Nfc(string text)
    {
        // The runtime runs with InvariantGlobalization, whose string.Normalize leaves text unchanged; hence ENSNormalize.
        var stable = NfcStable.Value;
        foreach (var c in text) if (!stable[c]) return ADRaffy.ENSNormalize.ENSNormalize.NF.NFC(text);
        return text;
    }

    // BMP characters that NFC leaves alone wherever they stand: their own NFC is themselves, and they are neither a
    // combining mark nor a Hangul vowel/trailing jamo (the only characters that compose with the one before them).
    // Text made only of these is already NFC, which saves the slow path on almost all text (CJK and Hangul syllables included).
    static readonly Lazy<bool[]> NfcStable = new(() =>
    {
        var stable = new bool[char.MaxValue + 1];
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (c < 0x300) { stable[c] = true; continue; }
            if (char.IsSurrogate((char)c) || c is >= 0x1160 and <= 0x11FF) continue;
            if (CharUnicodeInfo.GetUnicodeCategory((char)c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark) continue;
            var s = ((char)c).ToString();
            stable[c] = ADRaffy.ENSNormalize.ENSNormalize.NF.NFC(s) == s;
        }
        return stable;
    });

    static Func<string, string> Replacer(JsonElement node, string path, string where)
    {
        var pattern = node.GetProperty("pattern");
        var content = node.GetProperty("content").GetString()!;
        if (pattern.TryGetProperty("String", out var literal))
        {
            var from = literal.GetString()!;
            return text => text.Replace(from, content, StringComparison.Ordinal);
        }
        if (pattern.TryGetProperty("Regex", out var regex))
        {
            var r = new Regex(PreTokenizer.OnigurumaToDotNet(regex.GetString()!, where, path), RegexOptions.CultureInvariant);
            return text => r.Replace(text, content.Replace("$", "$$"));
        }
        throw BpeModel.Unsupported(where, $"{path}.pattern", pattern.GetRawText(), "{\"String\": …} or {\"Regex\": …}");
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

    void AddDecoder(JsonElement node, string path, string where)
    {
        if (node.ValueKind == JsonValueKind.Null) return;
        var type = node.GetProperty("type").GetString();
        switch (type)
        {
            case "ByteLevel":
                decoders.Add(tokens => [ByteLevelDecode(tokens)]);
                break;
            case "Sequence":
                int i = 0;
                foreach (var child in node.GetProperty("decoders").EnumerateArray()) AddDecoder(child, $"{path}.decoders[{i++}]", where);
                break;
            case "Replace":
                var replace = Replacer(node, path, where);
                decoders.Add(tokens => [.. tokens.Select(replace)]);
                break;
            case "ByteFallback":
                decoders.Add(ByteFallbackDecode);
                break;
            case "Fuse":
                decoders.Add(tokens => [string.Concat(tokens)]);
                break;
            case "Strip":
            {
                var content = node.GetProperty("content").GetString()!;
                int start = node.GetProperty("start").GetInt32(), stop = node.GetProperty("stop").GetInt32();
                if (content.Length != 1) throw BpeModel.Unsupported(where, $"{path}.content", $"'{content}'", "one character");
                decoders.Add(tokens => [.. tokens.Select(t => Strip(t, content[0], start, stop))]);
                break;
            }
            default:
                throw BpeModel.Unsupported(where, $"{path}.type", $"'{type}'", "null, ByteLevel, Replace, ByteFallback, Fuse, Strip, or a Sequence of them");
        }
    }

    // Rust's Strip decoder: up to `start` leading and `stop` trailing copies of the character.
    static string Strip(string token, char c, int start, int stop)
    {
        int left = 0, right = token.Length;
        while (left < Math.Min(start, token.Length) && token[left] == c) left++;
        for (int k = 0; k < stop && right > left && token[right - 1] == c; k++) right--;
        return token[left..right];
    }

    // Rust's ByteFallback decoder: runs of <0xNN> tokens become their UTF-8 text, or one U+FFFD per byte when invalid.
    static List<string> ByteFallbackDecode(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (var token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
                && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
            {
                pending.Add(b);
                continue;
            }
            Flush();
            output.Add(token);
        }
        Flush();
        return output;

        void Flush()
        {
            if (pending.Count == 0) return;
            try { output.Add(StrictUtf8.GetString(pending.ToArray())); }
            catch (DecoderFallbackException) { output.AddRange(Enumerable.Repeat("\uFFFD", pending.Count)); }
            pending.Clear();
        }
    }

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    static readonly Dictionary<char, byte> UnicodeToByte =
        TokenizerFiles.ByteToUnicode.Select((s, b) => (s[0], (byte)b)).ToDictionary(x => x.Item1, x => x.Item2);

    /// <summary>The decoder chain over <paramref name="tokens"/>, joined; without a decoder Rust joins tokens with spaces.</summary>
    public string Decode(List<string> tokens)
    {
        if (!HasDecoder) return string.Join(' ', tokens);
        foreach (var decode in decoders) tokens = decode(tokens);
        return string.Concat(tokens);
    }

    /// <summary>Rust's ByteLevel decoder: each token's characters back to bytes, a token with any other character as its UTF-8; lossy UTF-8.</summary>
    static string ByteLevelDecode(List<string> tokens)
    {
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
