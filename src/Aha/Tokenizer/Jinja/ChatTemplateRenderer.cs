using System.Collections;
using System.Collections.Concurrent;
using System.Text.Json;

namespace Aha.Tokenizer.Jinja;

/// <summary>
/// Renders a <c>tokenizer_config.json</c> chat template as transformers' <c>apply_chat_template(..., tokenize=False)</c> does:
/// Jinja2 with trim_blocks and lstrip_blocks, loopcontrols, <c>raise_exception</c>, <c>strftime_now</c> and a <c>tojson</c>
/// that keeps non-ASCII text; the template sees <c>messages</c>, <c>tools</c> and <c>documents</c> (None),
/// <c>add_generation_prompt</c>, the special tokens and the options' variables.
/// </summary>
public static class ChatTemplateRenderer
{
    static readonly ConcurrentDictionary<(string Template, string Source), JinjaTemplate> Cache = new();

    /// <summary>
    /// The prompt text of <paramref name="messages"/>. <paramref name="source"/> names the template in errors (a file path, say);
    /// <paramref name="specialTokens"/> holds bos_token, eos_token, pad_token, unk_token — a null value leaves the variable
    /// undefined, as transformers leaves out unset special tokens. Throws <see cref="JinjaTemplateException"/> (naming source,
    /// line and column) for a construct outside the supported subset and when the template calls <c>raise_exception</c>.
    /// </summary>
    public static string Render(string template, string source, IReadOnlyList<ChatMessage> messages, ChatOptions options,
        IReadOnlyDictionary<string, object?> specialTokens) =>
        Render(template, source, messages, options, specialTokens, () => DateTime.Now);

    internal static string Render(string template, string source, IReadOnlyList<ChatMessage> messages, ChatOptions options,
        IReadOnlyDictionary<string, object?> specialTokens, Func<DateTime> now)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(specialTokens);
        var compiled = Cache.GetOrAdd((template, source), key => new JinjaTemplate(key.Template, key.Source));

        // The order is transformers': special tokens, then keyword arguments over them, then the named arguments.
        var context = new Dictionary<string, object?>(StringComparer.Ordinal);
        JinjaBuiltins.AddGlobals(context, now);
        foreach (var (name, value) in specialTokens)
            if (value is not null) context[name] = ToJinja(value, $"specialTokens[{name}]");
        if (options.EnableThinking is bool thinking) context["enable_thinking"] = thinking;
        context["tools"] = null;
        context["documents"] = null;
        foreach (var (name, value) in options.Variables ?? new Dictionary<string, object?>())
        {
            if (name is "messages" or "add_generation_prompt")
                throw new ArgumentException($"ChatOptions.Variables['{name}'] would replace the argument of the same name; set it through the messages or ChatOptions.AddGenerationPrompt instead.", nameof(options));
            if (name == "enable_thinking" && options.EnableThinking is not null)
                throw new ArgumentException("enable_thinking is given twice (ChatOptions.EnableThinking and ChatOptions.Variables); keep one.", nameof(options));
            context[name] = ToJinja(value, $"ChatOptions.Variables['{name}']");
        }
        context["messages"] = messages.Select((m, i) => (object?)Message(m, i)).ToList();
        context["add_generation_prompt"] = options.AddGenerationPrompt;
        return compiled.Render(context);
    }

    static JinjaDict Message(ChatMessage m, int index)
    {
        var dict = new JinjaDict
        {
            ["role"] = m.Role ?? throw new ArgumentException($"messages[{index}].role is null.", "messages"),
            ["content"] = m.Content ?? throw new ArgumentException($"messages[{index}].content is null.", "messages"),
        };
        if (m.ReasoningContent is not null) dict["reasoning_content"] = m.ReasoningContent;
        return dict;
    }

    /// <summary>A .NET value as the template sees it: strings, numbers, bools, null, lists, string-keyed dictionaries, JSON.</summary>
    internal static object? ToJinja(object? value, string where) => value switch
    {
        null or string or bool or long or double => value,
        int or short or byte or sbyte or uint or ushort => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        float f => (double)f,
        decimal d => (double)d,
        JsonElement e => FromJson(e, where),
        IDictionary dict => ToDict(dict.Keys.Cast<object>().Select(k => (k, dict[k])), where),
        IEnumerable<KeyValuePair<string, object?>> pairs => ToDict(pairs.Select(p => ((object)p.Key, p.Value)), where),
        IEnumerable items => items.Cast<object?>().Select((x, i) => ToJinja(x, $"{where}[{i}]")).ToList(),
        _ => throw new ArgumentException($"{where} is a {value.GetType().Name}; chat templates take strings, numbers, booleans, null, lists and dictionaries with string keys."),
    };

    static JinjaDict ToDict(IEnumerable<(object Key, object? Value)> pairs, string where)
    {
        var dict = new JinjaDict();
        foreach (var (key, value) in pairs)
        {
            var name = key as string ?? throw new ArgumentException($"{where} has a key of type {key.GetType().Name}; chat templates take string keys only.");
            dict[name] = ToJinja(value, $"{where}['{name}']");
        }
        return dict;
    }

    static object? FromJson(JsonElement e, string where) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.Number => e.TryGetInt64(out var n) ? (object)n : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select((x, i) => FromJson(x, $"{where}[{i}]")).ToList(),
        _ => ToDict(e.EnumerateObject().Select(p => ((object)p.Name, (object?)FromJson(p.Value, $"{where}['{p.Name}']"))), where),
    };
}
