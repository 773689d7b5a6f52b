using Aha.Tokenizer;

namespace Aha.Tasks;

/// <summary>The prompt templates: a pure function of the problem text, so trainer, eval and <c>aha tasks sample</c> agree.</summary>
public static class Prompts
{
    /// <summary>The system text of the DeepSeek-R1 paper (Table 1), shared by the R1-Zero and chat templates.</summary>
    public const string R1ZeroSystem =
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. " +
        "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. " +
        "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, " +
        "i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

    /// <summary>
    /// The text templates. <see cref="PromptStyle.Chat"/> has no text of its own: the model's chat template renders
    /// <see cref="Messages"/> (see <see cref="PromptSpec.For"/>).
    /// </summary>
    public static string Render(string prompt, PromptStyle style) => style switch
    {
        // The paper's "User: {prompt}. Assistant:"; no second full stop after a prompt that already ends a sentence.
        PromptStyle.R1Zero => $"{R1ZeroSystem} User: {prompt}{(prompt.EndsWith('.') || prompt.EndsWith('?') || prompt.EndsWith('!') ? "" : ".")} Assistant:",
        // The R1-Zero template without its 400-byte system text, which a byte-level model with a 256-token context
        // cannot afford; as in R1-Zero, the model itself chooses whether to open <think> or answer at once.
        PromptStyle.Short => $"User: {prompt}\nAssistant:",
        PromptStyle.Chat => throw new ArgumentException(
            "the chat style is rendered by the model's own chat template, not as plain text; build the prompt with PromptSpec.For(tokenizer, …).", nameof(style)),
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown prompt style; use R1Zero, Short or Chat."),
    };

    /// <summary>The chat style's conversation: the R1 system text, then the problem as the user's message.</summary>
    public static IReadOnlyList<ChatMessage> Messages(string prompt) =>
        [new ChatMessage("system", R1ZeroSystem), new ChatMessage("user", prompt)];

    /// <summary>Parses a style name as used on the command line: r1zero, short, chat.</summary>
    public static PromptStyle ParseStyle(string name) => name.ToLowerInvariant().Replace("-", "") switch
    {
        "r1zero" or "r1" => PromptStyle.R1Zero,
        "short" => PromptStyle.Short,
        "chat" => PromptStyle.Chat,
        _ => throw new ArgumentException($"unknown prompt style '{name}'; use r1zero, short or chat."),
    };
}
