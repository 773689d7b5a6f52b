using System.Text.Json;
using Aha.Tokenizer;
using Aha.Tokenizer.Jinja;

namespace Aha.Tests.Tokenizer.Jinja;

/// <summary>
/// One construct at a time (whitespace control, loop variables, namespace, undefined, Python's str(), filters, tests, methods),
/// each compared with Jinja2's own rendering from tests/reference/chat_templates.py.
/// </summary>
public class JinjaSemanticsTests
{
    static readonly Lazy<(Dictionary<string, JsonElement> Cases, Dictionary<string, object?> Variables)> Golden = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Tokenizer", "Golden", "jinja_snippets.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement.Clone();
        return (root.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!),
                root.GetProperty("variables").EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value));
    });

    public static TheoryData<string> SnippetNames() => [.. Golden.Value.Cases.Keys];

    static string Render(string template, IReadOnlyDictionary<string, object?>? variables = null, Func<DateTime>? now = null) =>
        ChatTemplateRenderer.Render(template, "snippet.jinja", [], new ChatOptions { Variables = variables }, new Dictionary<string, object?>(),
            now ?? (() => DateTime.Now));

    [Theory]
    [MemberData(nameof(SnippetNames))]
    public void A_construct_renders_as_jinja2_renders_it(string name)
    {
        var c = Golden.Value.Cases[name];
        var template = c.GetProperty("template").GetString()!;
        if (c.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<JinjaTemplateException>(() => Render(template, Golden.Value.Variables));
            Assert.StartsWith("snippet.jinja:1:", e.Message);
            if (error.GetString() == "TemplateError") Assert.Equal(c.GetProperty("message").GetString(), e.RaisedMessage);
            return;
        }
        Assert.Equal(c.GetProperty("expected").GetString(), Render(template, Golden.Value.Variables));
    }

    [Fact]
    public void An_unknown_filter_is_refused_when_parsed_naming_source_line_and_column()
    {
        var e = Assert.Throws<JinjaTemplateException>(() => Render("line1\n{% if false %}\n  {{ y | wordcount }}\n{% endif %}"));
        Assert.StartsWith("snippet.jinja:3:10: ", e.Message);
        Assert.Contains("'wordcount'", e.Message);
        Assert.Equal((3, 10), (e.Line, e.Column));
    }

    [Fact]
    public void An_unknown_test_is_refused_when_parsed()
    {
        var e = Assert.Throws<JinjaTemplateException>(() => Render("{% if false and x is prime %}{% endif %}"));
        Assert.Contains("test 'prime'", e.Message);
        Assert.StartsWith("snippet.jinja:1:", e.Message);
    }

    [Theory]
    [InlineData("a\n{% include 'other.jinja' %}", "snippet.jinja:2:4:", "'{% include %}'")]
    [InlineData("{% raw %}x{% endraw %}", "snippet.jinja:1:4:", "'{% raw %}'")]
    [InlineData("{% for x in xs recursive %}{% endfor %}", "snippet.jinja:1:16:", "recursive")]
    [InlineData("{% set x %}body{% endset %}", "snippet.jinja:1:10:", "block assignment")]
    [InlineData("{{ 'a'.zfill(3) }}", "snippet.jinja:1:", "str.zfill()")]
    [InlineData("{{ xs.append(1) }}", "snippet.jinja:1:", "list.append()")]
    [InlineData("{% if x %}unclosed", "snippet.jinja:1:1:", "never closed")]
    [InlineData("{{ x ", "snippet.jinja:1:1:", "unclosed tag")]
    [InlineData("{{ loop.cycle('a', 'b') }}", "snippet.jinja:1:", "")]
    [InlineData("{% for x in [1] %}{{ loop.cycle('a', 'b') }}{% endfor %}", "snippet.jinja:1:", "loop.cycle")]
    [InlineData("{{ 'x' | tojson(ensure_ascii=true) }}", "snippet.jinja:1:", "ensure_ascii")]
    [InlineData("{{ strftime_now('%Q') }}", "snippet.jinja:1:", "%Q")]
    public void An_unsupported_construct_is_a_clear_error_naming_where(string template, string where, string what)
    {
        var e = Assert.Throws<JinjaTemplateException>(() => Render(template, new Dictionary<string, object?> { ["xs"] = new List<object?> { 1 } }));
        Assert.StartsWith(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Raise_exception_carries_the_templates_message_and_its_line()
    {
        var e = Assert.Throws<JinjaTemplateException>(() => Render("ok\n\n   {{ raise_exception('roles must alternate') }}"));
        Assert.Equal("roles must alternate", e.RaisedMessage);
        Assert.StartsWith("snippet.jinja:3:", e.Message);
    }

    [Fact]
    public void Strftime_now_formats_the_clock_as_llama_templates_ask()
    {
        var text = Render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %j %y %I%p %%') }}", now: () => new DateTime(2024, 7, 26, 15, 4, 5));
        Assert.Equal("26 Jul 2024|2024-07-26 15:04:05 Friday July 208 24 03PM %", text);
    }

    [Fact]
    public void Llama_3_2_without_a_date_string_takes_todays_date_from_strftime_now()
    {
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Tokenizer", "Templates", "llama3.2-instruct.jinja"));
        var text = ChatTemplateRenderer.Render(template, "llama3.2", [new("user", "hi")], new ChatOptions(),
            new Dictionary<string, object?> { ["bos_token"] = "<|begin_of_text|>" }, () => new DateTime(2025, 3, 9));
        Assert.Contains("Cutting Knowledge Date: December 2023\nToday Date: 09 Mar 2025\n\n", text);
    }

    [Fact]
    public void A_template_is_parsed_once_per_text_and_source()
    {
        // Rendering twice gives the same text; a changed template is not served from the cache of the old one.
        Assert.Equal("1", Render("{{ 1 }}"));
        Assert.Equal("1", Render("{{ 1 }}"));
        Assert.Equal("2", Render("{{ 2 }}"));
    }

    [Fact]
    public void Enable_thinking_null_leaves_the_variable_undefined_and_a_value_defines_it()
    {
        const string t = "{{ enable_thinking is defined }}/{{ enable_thinking }}";
        var none = ChatTemplateRenderer.Render(t, "s", [], new ChatOptions(), new Dictionary<string, object?>());
        var off = ChatTemplateRenderer.Render(t, "s", [], new ChatOptions { EnableThinking = false }, new Dictionary<string, object?>());
        Assert.Equal("False/", none);
        Assert.Equal("True/False", off);
    }

    [Fact]
    public void A_null_special_token_is_undefined_and_messages_carry_reasoning_content_only_when_set()
    {
        const string t = "{{ bos_token is defined }}{{ eos_token }}{% for m in messages %}|{{ m.role }}:{{ m.content }}:{{ m.reasoning_content is defined }}{% endfor %}";
        var text = ChatTemplateRenderer.Render(t, "s", [new("user", "q"), new("assistant", "a") { ReasoningContent = "r" }], new ChatOptions(),
            new Dictionary<string, object?> { ["bos_token"] = null, ["eos_token"] = "</s>" });
        Assert.Equal("False</s>|user:q:False|assistant:a:True", text);
    }

    [Fact]
    public void Variables_cannot_replace_the_messages_or_the_generation_prompt_flag()
    {
        var e = Assert.Throws<ArgumentException>(() => ChatTemplateRenderer.Render("x", "s", [],
            new ChatOptions { Variables = new Dictionary<string, object?> { ["messages"] = "m" } }, new Dictionary<string, object?>()));
        Assert.Contains("Variables['messages']", e.Message);
    }
}
