using System.CommandLine;
using System.Text;
using System.Text.Json;
using Aha.Tokenizer;
using Aha.Tokenizer.Jinja;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha chat-template`: the prompt a model folder's own chat template makes of a conversation, as transformers'
/// apply_chat_template(tokenize=False) renders it. Reads tokenizer_config.json directly (chat_template, bos/eos/pad/unk tokens).
/// </summary>
static class ChatTemplateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A model folder with tokenizer_config.json (a Hugging Face download or an Aha checkpoint).", Required = true };
        var messages = new Option<string>("--messages") { Description = "A JSON file: an array of {\"role\", \"content\"} (optional \"reasoning_content\").", Required = true };
        var noGeneration = new Option<bool>("--no-generation-prompt") { Description = "Do not end with the open assistant header (add_generation_prompt=False)." };
        var thinking = new Option<bool?>("--enable-thinking") { Description = "Pass enable_thinking=true|false (Qwen3); left undefined when absent." };
        var variables = new Option<string[]>("--var") { Description = "A further template variable as name=value, e.g. date_string=\"26 Jul 2024\" (repeatable).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("chat-template", "Print the prompt a model's chat template renders from a conversation (byte-exact, no trailing newline added).")
        {
            model, messages, noGeneration, thinking, variables,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var (template, source, special) = ReadConfig(r.GetValue(model)!);
            var options = new ChatOptions
            {
                AddGenerationPrompt = !r.GetValue(noGeneration),
                EnableThinking = r.GetValue(thinking),
                Variables = ParseVariables(r.GetValue(variables) ?? []),
            };
            var text = ChatTemplateRenderer.Render(template, source, ReadMessages(r.GetValue(messages)!), options, special);
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(Encoding.UTF8.GetBytes(text));
        }));
        return command;
    }

    static Dictionary<string, object?> ParseVariables(string[] pairs)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--var '{pair}' is not name=value; write e.g. --var date_string=\"26 Jul 2024\".");
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }

    /// <summary>The chat template (a string, or the list form's "default") and the special tokens of DIR/tokenizer_config.json.</summary>
    internal static (string Template, string Source, Dictionary<string, object?> SpecialTokens) ReadConfig(string directory)
    {
        var path = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} not found; --model must be a model folder with the tokenizer_config.json that came with the model.");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object.");

        string template;
        switch (root.TryGetProperty("chat_template", out var t) ? t.ValueKind : JsonValueKind.Undefined)
        {
            case JsonValueKind.String:
                template = t.GetString()!;
                break;
            case JsonValueKind.Array:
                var named = t.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out _)).ToList();
                var chosen = named.FirstOrDefault(e => e.GetProperty("name").GetString() == "default");
                if (chosen.ValueKind != JsonValueKind.Object || !chosen.TryGetProperty("template", out var body) || body.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{path}: chat_template is a list without a \"default\" entry (it has: {string.Join(", ", named.Select(e => e.GetProperty("name").ToString()))}).");
                template = body.GetString()!;
                break;
            default:
                var separate = Path.Combine(directory, "chat_template.jinja");
                if (!File.Exists(separate))
                    throw new InvalidDataException($"{path} has no chat_template (and there is no chat_template.jinja beside it); this model has no chat format — use a plain prompt instead.");
                template = File.ReadAllText(separate);
                path = separate;
                break;
        }

        var special = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var name in new[] { "bos_token", "eos_token", "pad_token", "unk_token" })
        {
            if (!root.TryGetProperty(name, out var token)) continue;
            special[name] = token.ValueKind switch
            {
                JsonValueKind.String => token.GetString(),
                JsonValueKind.Null => null,
                JsonValueKind.Object when token.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
                _ => throw new InvalidDataException($"{path}: {name} must be a string, null or an object with \"content\", not {token.ValueKind}."),
            };
        }
        return (template, path, special);
    }

    /// <summary>A JSON array of messages; a bad element is named by index and field.</summary>
    internal static List<ChatMessage> ReadMessages(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found; --messages takes a JSON file like [{{\"role\": \"user\", \"content\": \"Hi\"}}].");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
        if (root.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: expected a JSON array of messages like [{{\"role\": \"user\", \"content\": \"Hi\"}}], found {root.ValueKind}.");
        var result = new List<ChatMessage>();
        int i = 0;
        foreach (var m in root.EnumerateArray())
        {
            string at = $"{path}: element {i}";
            if (m.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{at} is {m.ValueKind}, expected an object with \"role\" and \"content\".");
            string Field(string name) => m.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                : throw new InvalidDataException($"{at}: \"{name}\" must be a string{(m.TryGetProperty(name, out var w) ? $", not {w.ValueKind}" : " and is missing")}.");
            string? reasoning = m.TryGetProperty("reasoning_content", out var rc) && rc.ValueKind != JsonValueKind.Null
                ? rc.ValueKind == JsonValueKind.String ? rc.GetString() : throw new InvalidDataException($"{at}: \"reasoning_content\" must be a string or null.")
                : null;
            result.Add(new ChatMessage(Field("role"), Field("content")) { ReasoningContent = reasoning });
            i++;
        }
        return result;
    }
}
