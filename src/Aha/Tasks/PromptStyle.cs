namespace Aha.Tasks;

/// <summary>How a problem is put to the model (see <see cref="Prompts"/>).</summary>
public enum PromptStyle
{
    /// <summary>The DeepSeek-R1-Zero template, word for word.</summary>
    R1Zero,
    /// <summary><c>User: {prompt}\nAssistant:</c>: R1-Zero without the system text, to fit a tiny model's ~256-token context.</summary>
    Short,
    /// <summary>System and user messages rendered by the model's own chat template (its tokenizer's <c>EncodeChat</c>).</summary>
    Chat,
}
