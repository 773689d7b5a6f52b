namespace Aha.Tokenizer;

/// <summary>One turn of a conversation; <paramref name="Role"/> is "system", "user" or "assistant" (Hugging Face's names).</summary>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>The roles Aha's chat data and byte template accept, in the order they usually appear.</summary>
    public static IReadOnlyList<string> Roles { get; } = ["system", "user", "assistant"];

    /// <summary>
    /// An assistant turn's reasoning kept apart from its answer (DeepSeek's API and Qwen3's template call it
    /// <c>reasoning_content</c>); null leaves the key out of the message the chat template sees.
    /// </summary>
    public string? ReasoningContent { get; init; }
}
