namespace Aha.Tokenizer;

/// <summary>One turn of a conversation; <paramref name="Role"/> is "system", "user" or "assistant" (Hugging Face's names).</summary>
public sealed record ChatMessage(string Role, string Content);
