using System.CommandLine;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Tasks;
using Aha.Tasks.Datasets;

namespace Aha.Cli.Commands;

static class TasksCommand
{
    public static Command Create()
    {
        var command = new Command("tasks", "List the built-in tasks, or print problems of one as JSONL.");
        var list = new Command("list", "Names of the built-in tasks.");
        list.SetAction(_ =>
        {
            foreach (var name in TaskRegistry.Names) Console.WriteLine(name);
            return 0;
        });
        command.Subcommands.Add(list);
        command.Subcommands.Add(Sample());
        return command;
    }

    static Command Sample()
    {
        var name = new Argument<string>("name") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}." };
        var n = new Option<int>("--n") { Description = "How many problems.", DefaultValueFactory = _ => 10 };
        var seed = new Option<long>("--seed") { Description = "Seed of generated tasks (same seed, same problems).", DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--split") { Description = "all, train or test (held out; never overlaps train).", DefaultValueFactory = _ => "all" };
        var template = new Option<string?>("--template") { Description = "Render the prompt: r1zero, short or chat (default: the bare problem)." };
        var model = new Option<string?>("--model") { Description = "A checkpoint or run folder whose tokenizer renders the prompt (needed for --template chat; adds prompt_ids)." };
        var options = new TaskOptions();
        var command = new Command("sample", "Print problems as JSONL lines {id, prompt, answer, solution}.") { name, n, seed, split, template, model };
        options.AddTo(command);
        command.SetAction(result => Cli.Run(() =>
        {
            var task = TaskRegistry.Create(result.GetValue(name)!, options.Read(result));
            var style = result.GetValue(template) is { } t ? Prompts.ParseStyle(t) : (PromptStyle?)null;
            // The checkpoint's tokenizer makes the prompt exactly what GRPO and eval feed that model (PromptSpec).
            var tokenizer = result.GetValue(model) is { } path ? ModelLoader.Open(path).Tokenizer : null;
            if (style == PromptStyle.Chat && tokenizer is null)
                throw new ArgumentException("--template chat renders with a model's own chat template; add --model DIR (a checkpoint or run folder).");
            var which = Enum.TryParse<TaskSplit>(result.GetValue(split), ignoreCase: true, out var s)
                ? s : throw new ArgumentException($"--split '{result.GetValue(split)}' is not all, train or test.");
            foreach (var item in task.Items(which, result.GetValue(seed)).Take(result.GetValue(n)))
            {
                var spec = style is { } st && tokenizer is not null ? PromptSpec.For(tokenizer, task, item, st) : null;
                var line = new JsonObject
                {
                    ["id"] = item.Id,
                    ["prompt"] = spec?.Text ?? (style is { } st2 ? task.Render(item, st2) : item.Prompt),
                    ["answer"] = item.Answer,
                };
                if (spec is not null) line["prompt_ids"] = new JsonArray([.. spec.Ids.Select(id => (JsonNode)id)]);
                if (item.Solution is not null) line["solution"] = item.Solution;
                Console.WriteLine(line.ToJsonString(ReportFiles.JsonLine));
            }
            if (task is DatasetTask { Skipped: > 0 } dataset) Cli.ReportSkipped(dataset.Skipped, dataset.Problems);
        }));
        return command;
    }
}
