using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aha.Tasks.Datasets;
using Aha.Tokenizer;

namespace Aha.Cli.Commands;

static class TokenizeCommand
{
    static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A folder holding tokenizer.json (a checkpoint or a Hugging Face model folder).", Required = true };
        var text = new Option<string?>("--text") { Description = "The text to tokenize." };
        var file = new Option<string?>("--file") { Description = "A JSONL file whose rows carry \"text\"; one output line per row." };
        var addSpecial = new Option<bool>("--add-special-tokens") { Description = "Add the post-processor's tokens (BOS where the tokenizer declares one), as tokenizer(text) does by default in transformers." };
        var command = new Command("tokenize", "Print the ids and tokens of text as one JSON line per input: {\"ids\": […], \"tokens\": […]}.") { model, text, file, addSpecial };
        command.SetAction(r => Cli.Run(() =>
        {
            var (t, f) = (r.GetValue(text), r.GetValue(file));
            if (t is null == f is null) throw new ArgumentException("pass exactly one of --text T or --file F.jsonl.");
            var tokenizer = TokenizerLoader.Load(r.GetValue(model)!);
            bool add = r.GetValue(addSpecial);
            if (t is not null) { Print(tokenizer, t, add); return; }
            if (!File.Exists(f)) throw new FileNotFoundException($"{f} not found.", f);
            foreach (var row in DataFiles.ReadJsonl(f!))
            {
                if (row.Error is not null) throw new InvalidDataException($"{row.Location}: {row.Error}.");
                if (!row.Fields.TryGetValue("text", out var value) || value is null)
                    throw new InvalidDataException($"{row.Location}: field 'text' missing (fields present: {string.Join(", ", row.Fields.Keys.Take(10))}); each row is {{\"text\": \"…\"}}.");
                Print(tokenizer, value, add);
            }
        }));
        return command;
    }

    static void Print(ITokenizer tokenizer, string text, bool addSpecialTokens)
    {
        var ids = tokenizer.Encode(text, addSpecialTokens);
        Console.WriteLine(JsonSerializer.Serialize(new { ids, tokens = ids.Select(id => tokenizer.IdToToken(id)) }, Json));
    }
}
