/** The start page: who is logged in with which roles, and where to go from here. */
import { Anchor, Badge, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useSession } from '../features/auth/session.ts';
import { DateTime } from '../ui/DateTime.tsx';
import { grantLabel } from '../ui/grants.ts';
import { PageHeader } from '../ui/PageHeader.tsx';
import { NAV_ITEMS } from './navigation.ts';
import { linkProps } from './router.tsx';

export function HomePage() {
  const { t } = useTranslation();
  const session = useSession().data;
  if (!session) return null;
  const { user } = session;
  const items = NAV_ITEMS.filter((item) => item.summary !== null && item.visible(user));

  return (
    <>
      <PageHeader title={t('home.title')} description={t('home.welcome', { name: user.displayName })} />
      <Stack gap="xl">
        <section aria-labelledby="home-roles">
          <Title order={2} fz="h4" id="home-roles" mb="xs">
            {t('home.roles')}
          </Title>
          <Group gap="xs" data-testid="home-roles">
            {user.grants.length === 0 ? (
              <Text c="dimmed">{t('grants.none')}</Text>
            ) : (
              user.grants.map((grant) => (
                <Badge key={`${grant.role}:${grant.facilityId ?? ''}`} variant="light" size="lg" tt="none" radius="sm">
                  {grantLabel(t, grant)}
                </Badge>
              ))
            )}
          </Group>
          <Text size="xs" c="dimmed" mt="xs">
            {t('home.sessionEnds')} <DateTime value={session.absoluteExpiresAt} />
          </Text>
        </section>
        <section aria-labelledby="home-destinations">
          <Title order={2} fz="h4" id="home-destinations" mb="xs">
            {t('home.destinations')}
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md">
            {items.map((item) => (
              <Card key={item.path} withBorder padding="lg" radius="md" component="article">
                <Group justify="space-between" mb="xs" wrap="nowrap">
                  <Title order={3} fz="h5">
                    <Anchor {...linkProps(item.path)} data-testid={`home-${item.testId}`}>
                      {t(item.label)}
                    </Anchor>
                  </Title>
                  {item.comingSoon ? (
                    <Badge variant="outline" color="gray" tt="none">
                      {t('common.comingSoon')}
                    </Badge>
                  ) : null}
                </Group>
                {item.summary ? (
                  <Text size="sm" c="dimmed">
                    {t(item.summary)}
                  </Text>
                ) : null}
              </Card>
            ))}
          </SimpleGrid>
        </section>
      </Stack>
    </>
  );
}
