#:project ../src/Aha/Aha.csproj
#:property PublishAot=false
// How closely the fused decode path reproduces libtorch's on a trained model (not run in CI):
//
//     dotnet run -c Release bench/decode_agreement.cs [-- --model runs/demo/pretrain/step-000900 --problems 200 --max-tokens 64]
//
// Greedy completions of the addition task's held-out problems (the Short prompt style `aha eval` uses), batched as
// `aha eval` batches them, by three decode paths: libtorch (AHA_FUSED_DECODE=0), the fused path with the model's fp32
// weights, and the fused path with a bf16 weight copy; counts the completions identical to libtorch's. Then, teacher-
// forced along libtorch's completions one problem at a time, the largest logit difference of each fused path from
// libtorch's at any decode step. Prints a table and one JSON line last.
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Generation;
using Aha.Model;
using Aha.Runtime;
using Aha.Tasks;
using static TorchSharp.torch;

string modelPath = "runs/demo/pretrain/step-000900";
int problemCount = 200, maxTokens = 64;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--model") modelPath = args[i + 1];
    else if (args[i] == "--problems") problemCount = int.Parse(args[i + 1]);
    else if (args[i] == "--max-tokens") maxTokens = int.Parse(args[i + 1]);
    else throw new ArgumentException($"unknown option {args[i]}; use --model DIR, --problems N, --max-tokens N");
}
TorchRuntime.Initialize(2);
var (model, checkpoint) = ModelLoader.OpenAndLoad(modelPath);
using var _ = model;
var tokenizer = checkpoint.Tokenizer;
var task = TaskRegistry.Addition();
var prompts = ModelEvaluator.Problems(task, problemCount).Select(item => PromptSpec.For(tokenizer, task, item, PromptStyle.Short).Ids).ToList();
var greedy = new SamplingOptions { Temperature = 0, MaxNewTokens = maxTokens, StopTokenIds = tokenizer.StopIds };
var engine = new Engine(model);

List<int[]> Complete(bool fused, DecodeWeights weights)
{
    (model.FusedDecode, model.DecodeWeights) = (fused, weights);
    return engine.Generate(prompts.Select(p => new GenerationRequest(p)).ToList(), greedy).Select(c => c.TokenIds.ToArray()).ToList();
}
var reference = Complete(false, DecodeWeights.Float32);
var paths = new[] { ("fused fp32", DecodeWeights.Float32), ("fused bf16", DecodeWeights.BFloat16) };
var json = new JsonObject { ["bench"] = "decode_agreement", ["model"] = Path.GetFullPath(modelPath), ["problems"] = prompts.Count, ["max_tokens"] = maxTokens };
Console.WriteLine($"Fused decode vs libtorch, greedy, {prompts.Count} held-out {task.Name} problems ({Path.GetFullPath(modelPath)}, up to {maxTokens} tokens, ISA {model.DecodeIsa})");
Console.WriteLine("| path | identical completions | max logit difference (teacher-forced) | largest logit |");
Console.WriteLine("|---|---:|---:|---:|");
foreach (var (name, weights) in paths)
{
    var completions = Complete(true, weights);
    int identical = completions.Zip(reference).Count(p => p.First.SequenceEqual(p.Second));
    var (maxDiff, maxLogit) = TeacherForced(weights);
    Console.WriteLine($"| {name} | {identical}/{prompts.Count} ({(double)identical / prompts.Count:P1}) | {maxDiff:G3} | {maxLogit:F2} |");
    string key = name.Replace(' ', '_');
    json[$"identical_{key}"] = identical;
    json[$"max_logit_difference_{key}"] = maxDiff;
}
Console.WriteLine(json.ToJsonString());

// The largest |fused − libtorch| logit over every decode step of every problem, both fed libtorch's greedy tokens.
(float MaxDiff, float MaxLogit) TeacherForced(DecodeWeights weights)
{
    using var inference = inference_mode();
    model.DecodeWeights = weights;
    float worst = 0, largest = 0;
    for (int p = 0; p < prompts.Count; p++)
    {
        var fed = reference[p];
        if (fed.Length < 2) continue;
        using var fusedCache = model.NewCache(1, prompts[p].Length + fed.Length);
        using var torchCache = model.NewCache(1, prompts[p].Length + fed.Length);
        model.FusedDecode = false;
        using (var ids = tensor(prompts[p].Select(t => (long)t).ToArray(), [1, prompts[p].Length]))
        {
            model.LastLogits(ids, cache: fusedCache).Dispose();
            model.LastLogits(ids, cache: torchCache).Dispose();
        }
        for (int t = 0; t + 1 < fed.Length; t++)
        {
            using var scope = NewDisposeScope();
            var id = tensor(new long[] { fed[t] }, [1, 1]);
            model.FusedDecode = false;
            var expected = model.LastLogits(id, cache: torchCache);
            model.FusedDecode = true;
            var actual = model.LastLogits(id, cache: fusedCache);
            worst = Math.Max(worst, (actual - expected).abs().max().item<float>());
            largest = Math.Max(largest, expected.abs().max().item<float>());
        }
    }
    return (worst, largest);
}
