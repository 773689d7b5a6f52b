namespace Aha.Tokenizer.Jinja;

// Placeholder with the agreed signature so HfTokenizer compiles; replaced by branch tok-jinja (the integrator takes theirs).
/// <summary>Renders a tokenizer_config.json <c>chat_template</c> as transformers' <c>apply_chat_template</c> does.</summary>
public static class ChatTemplateRenderer
{
    /// <summary>The rendered conversation; <paramref name="source"/> names the template's file in errors.</summary>
    public static string Render(string template, string source, IReadOnlyList<ChatMessage> messages, ChatOptions options,
        IReadOnlyDictionary<string, object?> specialTokens) =>
        throw new NotImplementedException("replaced by branch tok-jinja");
}
