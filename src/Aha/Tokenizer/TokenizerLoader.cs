namespace Aha.Tokenizer;

/// <summary>The tokenizer of a model folder, chosen by the files in it.</summary>
public static class TokenizerLoader
{
    /// <summary>The tokenizer described by <paramref name="directory"/>'s tokenizer.json (Hugging Face byte-level BPE).</summary>
    public static ITokenizer Load(string directory)
    {
        var path = Path.Combine(directory, TokenizerFiles.TokenizerJson);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path} not found; point --model at a folder holding tokenizer.json (an Aha checkpoint or a Hugging Face model folder).", path);
        return HfTokenizer.Load(directory);
    }
}
