#:project ../src/Aha/Aha.csproj
#:property ManagePackageVersionsCentrally=false
#:package Tokenizers.DotNet@1.4.1
#:package Tokenizers.DotNet.runtime.linux-x64@1.4.1
// Regenerates tests/Aha.Tests/Tokenizer/Golden/hf_byte_encodings.json: the ids Hugging Face's own (Rust) tokenizers library
// gives for Aha's saved byte tokenizer.json, with its <|bos|> post-processor (as saved now) and without one (as checkpoints
// saved before it have). Tokenizers.DotNet's Encode is tokenizer(text) with add_special_tokens=True.
//     dotnet run bench/hf_byte_tokenizer_golden.cs > tests/Aha.Tests/Tokenizer/Golden/hf_byte_encodings.json
// Needs linux-x64 (the only native runtime served); CI only reads the committed output.
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Tokenizer;

string[] texts = ["", "hi", "é<|user|>", "<|bos|>a<|end|><|x<|eos|>", "User: 2+3\nAssistant:", "日本 😀\t\n", "<|end|", "<<|pad|>>"];
string dir = Directory.CreateTempSubdirectory("aha-hf-golden").FullName;
new ByteTokenizer(modelMaxLength: 256).Save(dir);
string withPost = Path.Combine(dir, "tokenizer.json");
var root = JsonNode.Parse(File.ReadAllText(withPost))!;
root["post_processor"] = null;
string withoutPost = Path.Combine(dir, "old-tokenizer.json");
File.WriteAllText(withoutPost, root.ToJsonString());

using var current = new Tokenizers.DotNet.Tokenizer(withPost);
using var old = new Tokenizers.DotNet.Tokenizer(withoutPost);
var rows = new JsonArray();
foreach (var text in texts)
    rows.Add((JsonNode)new JsonObject
    {
        ["text"] = text,
        ["ids_with_bos_post_processor"] = new JsonArray([.. current.Encode(text).Select(id => (JsonNode)(int)id)]),
        ["ids_without_post_processor"] = new JsonArray([.. old.Encode(text).Select(id => (JsonNode)(int)id)]),
    });
Console.WriteLine(rows.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
Directory.Delete(dir, recursive: true);
