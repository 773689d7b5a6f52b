using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Tokenizer;

namespace Aha.Tests.Tokenizer;

public class TokenizerFilesTests
{
    static string GoldenTable => Path.Combine(AppContext.BaseDirectory, "Tokenizer", "Golden", "bytes_to_unicode.json");

    static JsonObject SavedTokenizerJson(TempDirectory dir)
    {
        new ByteTokenizer(modelMaxLength: 256).Save(dir.Path);
        return JsonNode.Parse(File.ReadAllText(dir["tokenizer.json"]))!.AsObject();
    }

    [Fact]
    public void Saved_tokenizer_json_loads_back_as_the_byte_tokenizer()
    {
        using var dir = new TempDirectory();
        new ByteTokenizer(modelMaxLength: 256).Save(dir.Path);
        Assert.Equal(256, ByteTokenizer.Load(dir.Path).ModelMaxLength);
        Assert.Equal(256, ByteTokenizer.Load(dir["tokenizer.json"]).ModelMaxLength);
        Assert.IsType<ByteTokenizer>(TokenizerLoader.Load(dir.Path));
    }

    [Fact]
    public void The_vocabulary_is_gpt2s_byte_to_unicode_table_from_the_committed_golden_file()
    {
        using var dir = new TempDirectory();
        var vocab = SavedTokenizerJson(dir)["model"]!["vocab"]!.AsObject();
        var golden = JsonSerializer.Deserialize<string[]>(File.ReadAllText(GoldenTable))!;
        Assert.Equal(256, golden.Length);
        Assert.Equal(256, vocab.Count);
        for (int b = 0; b < 256; b++) Assert.Equal(b, vocab[golden[b]]!.GetValue<int>());
        Assert.Equal(Enumerable.Range(0, 256), vocab.Select(p => p.Value!.GetValue<int>())); // written in byte order
    }

    [Theory]
    [InlineData(0x20, "Ġ")]
    [InlineData(0x0A, "Ċ")]
    [InlineData(0x09, "ĉ")]
    [InlineData(0x00, "Ā")]
    [InlineData(0x21, "!")]
    [InlineData(0x7F, "ġ")]
    [InlineData(0xAD, "Ń")]
    [InlineData(0xFF, "ÿ")]
    public void Well_known_bytes_have_their_gpt2_symbols(int value, string symbol)
    {
        using var dir = new TempDirectory();
        Assert.Equal(value, SavedTokenizerJson(dir)["model"]!["vocab"]![symbol]!.GetValue<int>());
        Assert.Contains($"\"{symbol}\": {value}", File.ReadAllText(dir["tokenizer.json"])); // raw UTF-8, as Hugging Face writes it
    }

    [Fact]
    public void Special_tokens_are_added_tokens_and_named_in_the_configs()
    {
        using var dir = new TempDirectory();
        var added = SavedTokenizerJson(dir)["added_tokens"]!.AsArray();
        Assert.Equal(ByteTokenizer.SpecialTokens.Select(t => (t.Id, t.Text)),
            added.Select(t => (t!["id"]!.GetValue<int>(), t["content"]!.GetValue<string>())));
        Assert.All(added, t => Assert.True(t!["special"]!.GetValue<bool>()));

        var config = JsonNode.Parse(File.ReadAllText(dir["tokenizer_config.json"]))!;
        Assert.Equal("PreTrainedTokenizerFast", config["tokenizer_class"]!.GetValue<string>());
        Assert.Equal("<|bos|>", config["bos_token"]!.GetValue<string>());
        Assert.Equal("<|eos|>", config["eos_token"]!.GetValue<string>());
        Assert.Equal("<|pad|>", config["pad_token"]!.GetValue<string>());
        Assert.Equal(256, config["model_max_length"]!.GetValue<int>());
        Assert.Equal(ChatTemplate.Jinja, config["chat_template"]!.GetValue<string>());
        var map = JsonNode.Parse(File.ReadAllText(dir["special_tokens_map.json"]))!;
        Assert.Equal("<|eos|>", map["eos_token"]!.GetValue<string>());
    }

    public static TheoryData<string, string> ForeignTokenizers => new()
    {
        { """{"model":{"type":"WordPiece"}}""", "model.type is 'WordPiece'" },
        { "not json", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(ForeignTokenizers))]
    public void A_tokenizer_json_that_is_not_ours_is_refused(string json, string problem)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir["tokenizer.json"], json);
        var e = Assert.Throws<InvalidDataException>(() => ByteTokenizer.Load(dir.Path));
        Assert.Contains(problem, e.Message);
        Assert.Contains(dir["tokenizer.json"], e.Message);
    }

    [Theory]
    [InlineData("vocab", "model.vocab has 257 entries")]
    [InlineData("merges", "model.merges has 1 entries")]
    [InlineData("special", "added_tokens lacks <|end|> with id 262")]
    [InlineData("remap", "maps 'Ġ' (byte 0x20) to 33")]
    public void A_changed_tokenizer_json_is_refused_saying_what_differs(string change, string problem)
    {
        using var dir = new TempDirectory();
        var root = SavedTokenizerJson(dir);
        var model = root["model"]!.AsObject();
        switch (change)
        {
            case "vocab": model["vocab"]!.AsObject()["ĠĠ"] = 256; break;
            case "merges": model["merges"] = new JsonArray("Ġ Ġ"); break;
            case "special": root["added_tokens"]!.AsArray().RemoveAt(6); break;
            case "remap": model["vocab"]!.AsObject()["Ġ"] = 33; break;
        }
        File.WriteAllText(dir["tokenizer.json"], root.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => ByteTokenizer.Load(dir.Path));
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_missing_tokenizer_json_names_the_path()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => ByteTokenizer.Load(dir.Path));
        Assert.Contains(dir["tokenizer.json"], e.Message);
    }

    static string HfGolden => Path.Combine(AppContext.BaseDirectory, "Tokenizer", "Golden", "hf_byte_encodings.json");

    [Fact]
    public void Encode_with_special_tokens_gives_hugging_faces_ids_for_the_saved_file_and_without_them_the_ids_of_old_files()
    {
        // Made by bench/hf_byte_tokenizer_golden.cs with Hugging Face's Rust tokenizers, not by Aha.
        var rows = JsonNode.Parse(File.ReadAllText(HfGolden))!.AsArray();
        Assert.True(rows.Count >= 8);
        foreach (var row in rows)
        {
            string text = row!["text"]!.GetValue<string>();
            int[] Ids(string field) => [.. row[field]!.AsArray().Select(n => n!.GetValue<int>())];
            Assert.Equal(Ids("ids_with_bos_post_processor"), ByteTokenizer.Default.Encode(text, addSpecialTokens: true));
            Assert.Equal(Ids("ids_without_post_processor"), ByteTokenizer.Default.Encode(text));
        }
    }

    [Fact]
    public void The_post_processor_puts_bos_before_the_text()
    {
        using var dir = new TempDirectory();
        var post = SavedTokenizerJson(dir)["post_processor"]!;
        Assert.Equal("TemplateProcessing", post["type"]!.GetValue<string>());
        Assert.Equal("<|bos|>", post["single"]![0]!["SpecialToken"]!["id"]!.GetValue<string>());
        Assert.Equal("A", post["single"]![1]!["Sequence"]!["id"]!.GetValue<string>());
        Assert.Equal(256, post["special_tokens"]!["<|bos|>"]!["ids"]![0]!.GetValue<int>());
    }

    [Fact]
    public void A_file_saved_before_the_post_processor_still_loads_as_the_byte_tokenizer()
    {
        using var dir = new TempDirectory();
        var root = SavedTokenizerJson(dir);
        root["post_processor"] = null;
        File.WriteAllText(dir["tokenizer.json"], root.ToJsonString());
        Assert.Equal([256, 104], ByteTokenizer.Load(dir.Path).Encode("h", addSpecialTokens: true));
        Assert.IsType<ByteTokenizer>(TokenizerLoader.Load(dir.Path));
    }

    [Fact]
    public void A_post_processor_that_adds_something_else_is_refused()
    {
        using var dir = new TempDirectory();
        var root = SavedTokenizerJson(dir);
        root["post_processor"]!["special_tokens"]!["<|bos|>"]!["ids"]![0] = 257;
        File.WriteAllText(dir["tokenizer.json"], root.ToJsonString());
        Assert.Contains("post_processor", Assert.Throws<InvalidDataException>(() => ByteTokenizer.Load(dir.Path)).Message);
    }

    [Fact]
    public void Model_max_length_is_written_when_known_and_left_out_otherwise()
    {
        using var dir = new TempDirectory();
        ByteTokenizer.Default.Save(dir.Path);
        Assert.Null(JsonNode.Parse(File.ReadAllText(dir["tokenizer_config.json"]))!["model_max_length"]);
        Assert.Null(ByteTokenizer.Load(dir.Path).ModelMaxLength);
    }

    [Fact]
    public void The_loader_names_the_folder_without_a_tokenizer_and_tells_byte_from_hugging_face_tokenizers()
    {
        using var dir = new TempDirectory();
        var missing = Assert.Throws<FileNotFoundException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains(dir.Path, missing.Message);
        ByteTokenizer.Default.Save(dir.Path);
        Assert.IsType<ByteTokenizer>(TokenizerLoader.Load(dir.Path));
        Assert.IsType<HfTokenizer>(TokenizerLoader.Load(TokenizerFixtures.Folder("qwen3")));
    }
}
