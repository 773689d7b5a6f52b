using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aha.Tokenizer;

/// <summary>The tokenizer of a model folder: every command and trainer gets its <see cref="ITokenizer"/> here.</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// Reads <c>directory/tokenizer.json</c>: Aha's byte tokenizer becomes a <see cref="ByteTokenizer"/>; any other
    /// Hugging Face tokenizer is loaded as such.
    /// </summary>
    public static ITokenizer Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string file = Path.Combine(directory, TokenizerFiles.TokenizerJson);
        if (!File.Exists(file))
            throw new FileNotFoundException(
                $"{directory} has no {TokenizerFiles.TokenizerJson}, so its tokenizer is unknown. Copy tokenizer.json (and tokenizer_config.json) " +
                "from where the model came from, or point at a checkpoint folder Aha saved.", file);
        return LooksLikeByteTokenizer(file) ? ByteTokenizer.Load(file) : HfTokenizer.Load(directory);
    }

    /// <summary>
    /// A cheap look at the shape (BPE with exactly our seven added tokens, no merges): a file that claims to be ours
    /// goes to <see cref="ByteTokenizer.Load"/>, whose full check names anything that differs.
    /// </summary>
    static bool LooksLikeByteTokenizer(string file)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(file)); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: not valid JSON ({e.Message}). The file is damaged; copy it again from where the model came from.", e);
        }
        // Any shape goes through 'as': a top level or token that is not an object is the loader's to reject by name, not a crash here.
        if ((root as JsonObject)?["added_tokens"] is not JsonArray added || ((root as JsonObject)?["model"] as JsonObject)?["merges"] is JsonArray { Count: > 0 }) return false;
        var texts = added.Select(t => (t as JsonObject)?["content"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null).ToHashSet();
        return ByteTokenizer.SpecialTokens.All(t => texts.Contains(t.Text));
    }
}
