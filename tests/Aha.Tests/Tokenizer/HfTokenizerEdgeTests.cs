using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Aha.Tokenizer;
using Aha.Tokenizer.Hf;

namespace Aha.Tests.Tokenizer;

/// <summary>
/// What the three published files do not exercise: added-token flags (lstrip, rstrip, single_word, normalized) and a
/// TemplateProcessing post-processor, on a variant of Qwen3's tokenizer.json checked against the Rust tokenizers; and the
/// refusals of unsupported components.
/// </summary>
public class HfTokenizerEdgeTests
{
    static JsonObject QwenJson() => JsonNode.Parse(File.ReadAllText(Path.Combine(TokenizerFixtures.Folder("qwen3"), "tokenizer.json")))!.AsObject();

    static JsonObject Added(int id, string content, bool special = false, bool lstrip = false, bool rstrip = false, bool singleWord = false, bool normalized = false) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
        ["normalized"] = normalized, ["special"] = special,
    };

    // "flags": Qwen3 with added tokens of every flag and Llama 3.x's post-processor shape (a Sequence of ByteLevel and a
    // TemplateProcessing). "gpt2": the same with GPT-2's pre-tokenizer, a lone ByteLevel with its regex and a prefix space.
    static string Variant(string kind) => Variants.GetOrAdd(kind, k =>
    {
        var json = QwenJson();
        var added = json["added_tokens"]!.AsArray();
        added.Add(Added(151669, "<mask>", special: true, lstrip: true));
        added.Add(Added(151670, "[R]", rstrip: true));
        added.Add(Added(151671, "word", singleWord: true)); // also in the model vocabulary (1158): Rust gives it that id, and the next token 151671
        added.Add(Added(151672, "café!", normalized: true));
        added.Add(Added(151673, "<mask>x", special: true));
        added.Add(Added(151674, "[LR]", lstrip: true, rstrip: true));
        json["post_processor"] = JsonNode.Parse("""
            {"type": "Sequence", "processors": [{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}, {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}}],
             "pair": [],
             "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [151643], "tokens": ["<|endoftext|>"]},
                                "<|im_end|>": {"id": "<|im_end|>", "ids": [151645], "tokens": ["<|im_end|>"]}}}]}
            """);
        if (k == "gpt2") json["pre_tokenizer"] = JsonNode.Parse("""{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}""");
        var dir = Directory.CreateTempSubdirectory("aha-hf-variant-").FullName;
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        return dir;
    });

    static readonly ConcurrentDictionary<string, string> Variants = new();
    static readonly ConcurrentDictionary<string, HfTokenizer> VariantAha = new();
    static readonly ConcurrentDictionary<string, Tokenizers.DotNet.Tokenizer> VariantRust = new();

    public static TheoryData<string> Texts => new(
        "a <mask> b", "a   <mask>b", "\n\t <mask>", "<mask>", " <mask>x y", "<mask>xy", "<mask> x",
        "x[R]   y", "x [R]\n\nz", "[R]", "a  [LR]  b", "[LR][LR]  [LR]",
        "a word b", "aword b", "word", "words", "word_x", "_word", "(word)", "wordword", "mot word, word.",
        "café! and cafe\u0301! and CAFÉ!", "", "plain text without any added token 123");

    public static TheoryData<string, string> KindsAndTexts()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "flags", "gpt2" })
            foreach (var text in Texts) data.Add(kind, text);
        return data;
    }

    [Theory, MemberData(nameof(KindsAndTexts))]
    public void Added_token_flags_prefix_space_and_a_template_post_processor_match_the_Rust_tokenizer(string kind, string text)
    {
        // The Rust wrapper encodes with add_special_tokens=true, so the template's tokens are in its ids.
        var expected = VariantRust.GetOrAdd(kind, k => new Tokenizers.DotNet.Tokenizer(Path.Combine(Variant(k), "tokenizer.json")))
            .Encode(text).Select(id => (int)id).ToArray();
        var aha = VariantAha.GetOrAdd(kind, k => HfTokenizer.Load(Variant(k)));
        Assert.Equal(expected, aha.Encode(text, addSpecialTokens: true));
        Assert.Equal(expected[1..^1], aha.Encode(text, addSpecialTokens: false));
    }

    [Theory]
    [InlineData("normalizer", """{"type": "Lowercase"}""", "normalizer.type")]
    [InlineData("pre_tokenizer", """{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}]}""", "pre_tokenizer.pretokenizers[0].type")]
    [InlineData("post_processor", """{"type": "RobertaProcessing"}""", "post_processor.type")]
    [InlineData("decoder", """{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "WordPiece", "prefix": "##"}]}""", "decoder.decoders[1].type")]
    [InlineData("pre_tokenizer", """{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}""", "pre_tokenizer.type")]
    public void Unsupported_components_are_refused_naming_the_file_and_json_path(string field, string value, string path)
    {
        var json = QwenJson();
        json[field] = JsonNode.Parse(value);
        using var dir = new TempDirectory();
        File.WriteAllText(dir["tokenizer.json"], json.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains(dir["tokenizer.json"], e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("supported:", e.Message);
    }

    [Fact]
    public void A_word_piece_style_model_is_refused_by_name()
    {
        var json = QwenJson();
        json["model"]!["continuing_subword_prefix"] = "##";
        using var dir = new TempDirectory();
        File.WriteAllText(dir["tokenizer.json"], json.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir.Path));
        Assert.Contains("model.continuing_subword_prefix", e.Message);
    }

    [Theory]
    [InlineData(@"\p{L}++|\s*+x?+", @"(?>\p{L}+)|(?>\s*)(?>x?)")]
    [InlineData(@"[^\s\p{L}]++[\r\n]*", @"(?>[^\s\p{L}]+)[\r\n]*")]
    [InlineData(@"(?:ab|c)++d{1,3}+", @"(?>(?:ab|c)+)(?>d{1,3})")]
    [InlineData(@"(?i:'s|'t)|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+", @"(?i:'s|'t)|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+")]
    [InlineData(@"a+?b*?(?!\S)", @"a+?b*?(?!\S)")]
    public void Possessive_quantifiers_become_atomic_groups_and_the_rest_is_unchanged(string oniguruma, string dotnet) =>
        Assert.Equal(dotnet, PreTokenizer.OnigurumaToDotNet(oniguruma, "tokenizer.json", "pre_tokenizer"));
}
