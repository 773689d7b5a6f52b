using System.CommandLine;
using System.Text;
using System.Text.Json;
using Aha.Tokenizer;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha chat-template`: the prompt a model folder's own chat template makes of a conversation, as transformers'
/// apply_chat_template(tokenize=False) renders it, through the folder's own tokenizer (<see cref="TokenizerLoader"/>).
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
            var tokenizer = TokenizerLoader.Load(r.GetValue(model)!);
            var options = new ChatOptions
            {
                AddGenerationPrompt = !r.GetValue(noGeneration),
                EnableThinking = r.GetValue(thinking),
                Variables = ParseVariables(r.GetValue(variables) ?? []),
            };
            var text = tokenizer.RenderChat(ReadMessages(r.GetValue(messages)!), options);
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
