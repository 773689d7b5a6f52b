using System.Text.Json;
using Aha.Tokenizer;
using Aha.Tokenizer.Jinja;

namespace Aha.Tests.Tokenizer.Jinja;

/// <summary>
/// Real chat templates (Qwen2.5, Qwen3, DeepSeek-R1-Distill, DeepSeek-V3, Llama 3, 3.1, 3.2, Aha's) render byte for byte as
/// Jinja2 renders them in transformers' environment; the expected strings come from tests/reference/chat_templates.py.
/// </summary>
public class ChatTemplateGoldenTests
{
    static string Folder(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Tokenizer", .. parts]);

    static readonly Lazy<Dictionary<string, JsonElement>> Cases = new(() =>
    {
        var path = Folder("Golden", "chat_templates.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone());
    });

    public static TheoryData<string> CaseNames() => [.. Cases.Value.Keys];

    [Fact]
    public void The_golden_file_covers_every_template_and_both_generation_prompt_settings()
    {
        var templates = Cases.Value.Values.Select(c => c.GetProperty("template").GetString()).Distinct().ToList();
        Assert.Equal(8, templates.Count);
        Assert.True(Cases.Value.Count >= 180, $"{Cases.Value.Count} cases");
        Assert.Contains(Cases.Value.Values, c => c.GetProperty("enable_thinking").ValueKind == JsonValueKind.False);
        Assert.Contains(Cases.Value.Values, c => c.GetProperty("enable_thinking").ValueKind == JsonValueKind.True);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void A_real_template_renders_exactly_as_jinja2_does(string name)
    {
        var c = Cases.Value[name];
        var file = c.GetProperty("template").GetString()!;
        var template = File.ReadAllText(Folder("Templates", file));
        var messages = c.GetProperty("messages").EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)
        {
            ReasoningContent = m.TryGetProperty("reasoning_content", out var r) ? r.GetString() : null,
        }).ToList();
        var options = new ChatOptions
        {
            AddGenerationPrompt = c.GetProperty("add_generation_prompt").GetBoolean(),
            EnableThinking = c.GetProperty("enable_thinking").ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null },
            Variables = c.GetProperty("variables").EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value),
        };
        var special = c.GetProperty("special_tokens").EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.GetString());

        if (c.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<JinjaTemplateException>(() => ChatTemplateRenderer.Render(template, file, messages, options, special));
            Assert.Equal(error.GetString(), e.RaisedMessage);
            Assert.StartsWith(file + ":", e.Message);
            return;
        }
        var rendered = ChatTemplateRenderer.Render(template, file, messages, options, special);
        Assert.Equal(c.GetProperty("expected").GetString(), rendered);
    }

    [Fact]
    public void The_committed_aha_template_is_the_one_aha_writes_into_tokenizer_config()
    {
        Assert.Equal(ChatTemplate.Jinja, File.ReadAllText(Folder("Templates", "aha-byte.jinja")));
    }
}
