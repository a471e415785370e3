/** A tag as EC2, IAM and SSM list them. */
interface TagLike {
  Key?: string;
  Value?: string;
}

/** The value of one tag in an AWS tag list. */
function tagValue(tags: readonly TagLike[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

export type { TagLike };
export { tagValue };
