using Aha.Faults;
using Aha.Tokenizer;
using Aha.Tokenizer.Jinja;

namespace Aha.Tests.Faults;

/// <summary>Inputs the Hugging Face tokenizer and chat-template fuzz targets found crashing, now rejected by name (or rendered as Jinja2 does).</summary>
public class HfTokenizerFuzzTests
{
    static string Folder(TempDirectory dir, string tokenizerJson, string? config = null)
    {
        string folder = dir["hf"];
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizerJson);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config ?? HfTokenizerFuzz.TokenizerConfigJson());
        return folder;
    }

    [Fact]
    public void The_seed_folder_loads_and_renders_a_chat()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.Load(Folder(dir, HfTokenizerFuzz.TokenizerJson()));
        Assert.IsType<HfTokenizer>(tokenizer);
        Assert.Equal("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
            tokenizer.RenderChat([new ChatMessage("user", "hi")], new ChatOptions { AddGenerationPrompt = true }));
    }

    [Theory]
    [InlineData("[1, 2]", "tokenizer.json")] // found: InvalidOperationException in TokenizerLoader's shape check
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", "tokenizer.json")] // found: IndexOutOfRangeException
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"0\"}, \"merges\": []}}", "tokenizer.json")] // found: InvalidOperationException
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.5}, \"merges\": []}}", "tokenizer.json")] // found: FormatException
    public void A_damaged_tokenizer_json_is_rejected_naming_the_file(string json, string file)
    {
        using var dir = new TempDirectory();
        string folder = Folder(dir, json);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(folder));
        Assert.Contains(Path.Combine(folder, file), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("{\"eos_token\": \"\\ud800\"}")] // found: InvalidOperationException (a lone surrogate in a string)
    public void A_damaged_tokenizer_config_is_rejected_naming_the_file(string config)
    {
        using var dir = new TempDirectory();
        string folder = Folder(dir, HfTokenizerFuzz.TokenizerJson(), config);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(folder));
        Assert.Contains(Path.Combine(folder, "tokenizer_config.json"), e.Message, StringComparison.Ordinal);
    }

    /// <summary>Expected values from python3-jinja2 3.1: '\ud800' stays a lone surrogate; '\U00110000' is "illegal Unicode character".</summary>
    [Fact]
    public void Unicode_escapes_in_a_template_follow_jinja2_instead_of_crashing()
    {
        var special = new Dictionary<string, object?>();
        Assert.Equal("\ud800x", ChatTemplateRenderer.Render("{{ '\\ud800x' }}", "t.jinja", [], new ChatOptions(), special));
        var e = Assert.Throws<JinjaTemplateException>(() => ChatTemplateRenderer.Render("{{ '\\U00110000' }}", "t.jinja", [], new ChatOptions(), special));
        Assert.Contains("illegal Unicode character", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("t.jinja:1:", e.Message, StringComparison.Ordinal);
    }
}
