/*
 * registry.c - the built-in processors, found by name.
 *
 * Adding a processor is one file under processors/ plus one line here.
 * The default chain order (config/wirestream.conf) is clean, dedupe,
 * entities, topics: dedupe and the taggers read the cleaned body.
 */
#include <string.h>

#include "processor.h"

extern const struct processor_ops clean_processor;
extern const struct processor_ops dedupe_processor;
extern const struct processor_ops entities_processor;
extern const struct processor_ops topics_processor;

const struct processor_ops *const processor_registry[] = {
    &clean_processor,
    &dedupe_processor,
    &entities_processor,
    &topics_processor,
    NULL,
};

const struct processor_ops *processor_find(const char *name)
{
    for (size_t i = 0; processor_registry[i]; i++)
        if (strcmp(processor_registry[i]->name, name) == 0)
            return processor_registry[i];
    return NULL;
}
